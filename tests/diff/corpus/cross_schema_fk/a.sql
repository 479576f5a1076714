create schema a; create schema b;
create table a.p (id int primary key);
create table b.c (id int, p_id int references a.p(id));
