create schema z; create type z.e as enum ('a'); create domain z.d as int check (value > 0);
create sequence z.q; create table z.t (id serial primary key, e z.e default 'a', d z.d);
create table z.u (t_id int references z.t(id) on delete cascade);
create view z.v as select * from z.t; create function z.f() returns int language sql as 'select 1';
create index z_u on z.u (t_id);
create function z.tr() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger z_tr before insert on z.u for each row execute function z.tr();
