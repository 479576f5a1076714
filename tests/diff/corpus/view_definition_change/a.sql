create table t (a int, b int);
create view v as select a, b, a + b as s from t;
create view w as select s from v;
