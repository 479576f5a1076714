-- A partition dropped from a table a foreign key references: the key's clone on the
-- partition blocks DROP TABLE, so the partition is detached first (sub-partitions too).
create table t (id int, k text, primary key (id, k)) partition by list (k);
create table p1 partition of t for values in ('a');
create table p2 partition of t default;
create table q partition of t for values in ('b', 'c') partition by list (k);
create table q1 partition of q for values in ('b');
create table q2 partition of q for values in ('c');
create table r (id int primary key, rid int, rk text, foreign key (rid, rk) references t);
