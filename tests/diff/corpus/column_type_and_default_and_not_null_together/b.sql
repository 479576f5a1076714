create table t (status int default 1, n int);
