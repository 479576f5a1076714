create schema gone;
alter default privileges in schema gone grant select on tables to @ROLE1@;
alter default privileges grant select on tables to @ROLE2@;
create table t (id int);
create table gone.x (id int);
