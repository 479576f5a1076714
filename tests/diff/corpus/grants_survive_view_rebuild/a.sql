create table t (id bigint, x int);
create view v as select id from t;
grant select on v to @ROLE1@;
comment on view v is 'kept';
