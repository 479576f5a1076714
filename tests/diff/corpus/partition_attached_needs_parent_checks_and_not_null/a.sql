-- Plain tables attached as partitions: ATTACH wants the parent's checks and NOT NULLs on
-- the table first (p2 has neither; p3's own check is the parent's, by name and text).
create table t (id int, k int not null, v text, constraint t_v_check check (v <> 'bad'))
  partition by range (k);
create table p1 partition of t for values from (0) to (10);
create table p2 partition of t for values from (10) to (20);
create table p3 partition of t for values from (20) to (30);
