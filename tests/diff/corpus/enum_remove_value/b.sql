create type status as enum ('new','active','archived','closed');
create table t (id int primary key, s status not null default 'new', hist status[]);
create view v as select id, s from t;
insert into t values (1, 'active', '{new}');
