create table t (id int, x int);
create view v as select id from t;
grant select on v to @ROLE1@;
comment on view v is 'kept';
