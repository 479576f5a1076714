create table t (id int, v text);
create view v as select id, v from t;
alter view v alter column v set default 'dflt';
