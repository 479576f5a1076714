create schema z; create type z.e as enum ('a'); create domain z.d as int;
create sequence z.q; create table z.t (id serial primary key, e z.e, d z.d);
create table z.u (t_id int references z.t(id));
create view z.v as select * from z.t; create function z.f() returns int language sql as 'select 1';
create index z_u on z.u (t_id);
