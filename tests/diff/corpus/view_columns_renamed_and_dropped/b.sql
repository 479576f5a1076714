create table t (a int, b int, c int);
create view v (x, y, z) as select a, b, c from t;
create view v2 as select x, z from v;
