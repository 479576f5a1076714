create table t (a int, b int, c int);
create view v (x, y) as select a, b from t;
create view v2 as select x from v;
grant select on v to @ROLE1@;
comment on column v.x is 'x';
