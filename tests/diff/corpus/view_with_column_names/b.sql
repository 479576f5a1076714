create table t (id int, n text);
create view v (ident) as select id from t;
