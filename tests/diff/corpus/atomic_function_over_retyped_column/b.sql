create table t (id int, v int);
create function total() returns numeric language sql stable begin atomic select sum(v) from t; end;
