create table t (id int, v varchar(5));
create table log (id int);
create rule t_log as on insert to t do also insert into log values (new.id);
create function acc(bigint, bigint) returns bigint language sql immutable as 'select $1 + $2';
create aggregate total(bigint) (sfunc = acc, stype = bigint, initcond = '0');
create view tot as select total(id) from t;
alter table t alter v set statistics 120;
