create table t (id int, v text);
create materialized view mv with (fillfactor = 70, autovacuum_enabled = false) as select id, v from t;
comment on column mv.v is 'the value';
grant select on mv to @ROLE1@;
alter materialized view mv alter column v set statistics 50;
