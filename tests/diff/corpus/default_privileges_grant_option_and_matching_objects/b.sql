alter default privileges grant select on tables to @ROLE1@;
create table t (id int);
create table u (id int);
