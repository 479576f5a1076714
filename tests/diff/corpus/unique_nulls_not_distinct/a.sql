create table t (a int, b int, constraint t_ab unique nulls not distinct (a, b));
