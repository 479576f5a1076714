create table t (a int, b int, constraint t_b_check check (b > 0));
create index t_a_old on t (a);
