create schema a; create schema b;
create table a.t (id serial primary key, v text);
create view a.v as select * from a.t;
create function a.f() returns setof a.t language sql as 'select * from a.t';
