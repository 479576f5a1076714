create table t (id int, n text);
create view v (ident, label) as select id, n from t;
