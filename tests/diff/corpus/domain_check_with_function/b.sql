create table t (e int);
