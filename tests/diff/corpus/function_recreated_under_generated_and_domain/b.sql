create function h(x int) returns int language sql immutable as 'select x * 2';
create domain dpos as int check (h(value) > 0);
create table t (a int, g bigint generated always as (h(a)) stored, d dpos);
