create table t (id int, b text not null default 'x');
create view v as select id, b from t;
create index t_b on t (b);
