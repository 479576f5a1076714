-- A partition detached for good becomes another table's parent: the DETACH and the drop
-- of its former parent's key go before that child is created (INHERITS refuses a
-- partition; the key's drop would recurse into the new child, which lacks it).
create table t (id int, k int, primary key (id, k)) partition by range (k);
create table p1 partition of t for values from (0) to (10);
create table p2 partition of t for values from (10) to (20);
create table c (x int);
