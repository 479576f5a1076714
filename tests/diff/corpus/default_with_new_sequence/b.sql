create table t (id int, code text);
