create schema util;
create function util.seed() returns int language sql as 'select 7';
set search_path = util, public;
create domain public.d as int default seed();
reset search_path;
create table t (v d);
