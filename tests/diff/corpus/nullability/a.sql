create table t (a int not null, b int, c int not null default 0);
