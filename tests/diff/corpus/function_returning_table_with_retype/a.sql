create table t (id bigint, v text);
create function rows_of_t() returns setof t language sql stable as 'select * from t';
create view tv as select * from rows_of_t();
