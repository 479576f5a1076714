create function f() returns bigint language sql immutable as 'select 1::bigint';
create table t (id int, x bigint default f(), constraint c check (x > f() - 10));
create index t_f on t ((x + f()));
create view v as select f() as y;
create policy p on t using (x > f());
