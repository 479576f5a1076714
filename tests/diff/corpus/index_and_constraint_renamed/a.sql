create table t (a int, b int, constraint t_b_positive check (b > 0));
create index t_a_new on t (a);
