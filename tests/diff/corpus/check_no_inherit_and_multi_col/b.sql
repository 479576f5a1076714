create table t (a int, b int, constraint ab check (a <= b));
