create function h(x int) returns bigint language sql immutable as 'select x::bigint * 2';
create domain dpos as int check (h(value) > 0);
create table t (a int, g bigint generated always as (h(a)) stored, d dpos);
