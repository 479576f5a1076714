create domain code as varchar(10); create table t (c code);
