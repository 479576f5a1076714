create table t (e text, n int);
