create table t (id int, name text);
