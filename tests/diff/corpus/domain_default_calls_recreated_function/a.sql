create function seed() returns bigint language sql as 'select 7::bigint';
create domain d as bigint default seed();
create table t (v d);
