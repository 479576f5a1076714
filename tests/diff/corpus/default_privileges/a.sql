create schema s;
alter default privileges in schema s grant select on tables to @ROLE1@;
alter default privileges grant usage on sequences to @ROLE2@;
alter default privileges revoke execute on functions from public;
create table s.t (id int);
create function s.f() returns int language sql as 'select 1';
