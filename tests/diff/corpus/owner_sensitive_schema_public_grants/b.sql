create table t (id int);
grant select on t to public;
