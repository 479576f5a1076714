create table t (id int, keep text, gone text);
create view v as select id, keep, gone from t;
