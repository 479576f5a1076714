alter default privileges grant select on tables to @ROLE1@ with grant option;
create table t (id int);
grant select on t to @ROLE1@ with grant option;
