create schema a; create schema b;
create table b.t (id serial primary key, v text);
create view a.v as select * from b.t;
create function a.f() returns setof b.t language sql as 'select * from b.t';
