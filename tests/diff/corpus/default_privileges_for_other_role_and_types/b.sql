create schema s;
alter default privileges for role @ROLE1@ in schema s grant select on sequences to @ROLE2@ with grant option;
create table s.pre (id int);
