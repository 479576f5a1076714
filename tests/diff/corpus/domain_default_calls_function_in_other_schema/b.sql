create schema util;
create function util.seed() returns int language sql as 'select 7';
create domain d as int default util.seed() + 1;
create table t (v d);
