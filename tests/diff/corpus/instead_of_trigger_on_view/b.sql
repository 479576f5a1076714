create table t (id int);
create view v as select id from t;
