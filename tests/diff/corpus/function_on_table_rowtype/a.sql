create table t (id int, name text);
create function all_t() returns setof t language sql as 'select * from t';
create view tv as select * from all_t();
