-- A table attached as a partition had an inheritance child the source lacks: ATTACH
-- refuses an inheritance parent, so the child is dropped early rather than last.
create table t (id int, k int) partition by range (k);
create table p1 partition of t for values from (0) to (10);
create table p2 (id int, k int);
create table p2c (z int) inherits (p2);
