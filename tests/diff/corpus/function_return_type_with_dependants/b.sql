create function f() returns int language sql immutable as 'select 1';
create table t (id int, x bigint default f(), constraint c check (x > f() - 10));
create index t_f on t ((x + f()));
create view v as select f() as y;
create policy p on t using (x > f());
