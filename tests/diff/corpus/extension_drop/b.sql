create extension if not exists hstore; create table t (id int);
