create table t (id int, keep text);
create view v as select id, keep from t;
