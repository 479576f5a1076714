create table t (id int, a text not null default 'x');
create view v as select id, a as b from t;
create index t_b on t (a);
