create domain code as varchar(20); create table t (c code);
