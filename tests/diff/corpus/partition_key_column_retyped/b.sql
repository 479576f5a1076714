-- A partition key column changes collation (t) or type (r): PostgreSQL refuses to alter
-- it, so the table is dropped and created with its partitions (noted, data loss).
create table t (id int, k text not null) partition by list (k);
create table t1 partition of t for values in ('a');
create table r (id int, k int not null) partition by range (k);
create table r1 partition of r for values from (0) to (10);
