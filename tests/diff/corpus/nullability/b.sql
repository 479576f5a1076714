create table t (a int, b int not null, c int);
