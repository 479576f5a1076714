create table t (n int);
