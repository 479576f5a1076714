create schema reporting;
create table t (id int);
create view reporting.v as select id from public.t;
create function reporting.f() returns int language sql as 'select 1';
create type reporting.k as enum ('a');
