create table t (v int);
create domain e as bigint;
