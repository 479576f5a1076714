-- An identity column added to tables with partitions or inheritance children: PostgreSQL
-- refuses to add it recursively, so the column is added and then made an identity.
create table t (id int, k int not null) partition by range (k);
create table t1 partition of t for values from (0) to (10);
create table base (id int);
create table child (x int) inherits (base);
