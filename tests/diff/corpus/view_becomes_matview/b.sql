create table t (id int);
create view v as select id from t;
create view w as select id from v;
