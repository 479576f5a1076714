create table t (id int);
create materialized view v as select id from t;
create view w as select id from v;
