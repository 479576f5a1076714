create table t (id int, v text);
create materialized view mv as select id, v from t;
