create table t (x int);
create view v as select x from t;
