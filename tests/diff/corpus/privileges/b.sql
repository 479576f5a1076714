create schema s;
grant create on schema s to @ROLE2@;
create table s.t (id int);
grant all on s.t to @ROLE1@;
grant select on s.t to @ROLE2@;
create sequence s.q;
create function s.f() returns int language sql as 'select 1';
create view s.v as select * from s.t;
create type s.e as enum ('x');
