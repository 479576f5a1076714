-- A partition detached for good while its parent gains a column: the DETACH goes first, so
-- the parent's ADD COLUMN no longer reaches the table it leaves.
create table t (id int, k int) partition by range (k);
create table p1 partition of t for values from (0) to (10);
create table p2 partition of t for values from (10) to (20);
