create schema s;
create table s.t (id int, secret text);
grant select on s.t to @ROLE1@ with grant option;
grant select (id, secret) on s.t to @ROLE2@;
grant usage on schema s to @ROLE1@ with grant option;
create function s.f() returns int language sql as 'select 1';
grant execute on function s.f() to @ROLE1@;
