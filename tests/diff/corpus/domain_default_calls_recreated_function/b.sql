create function seed() returns int language sql as 'select 7';
create domain d as bigint default seed();
create table t (v d);
