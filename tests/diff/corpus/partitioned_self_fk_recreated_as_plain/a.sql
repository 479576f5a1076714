-- B's partitioned table references itself; A's is plain: the table is recreated, and its
-- foreign key (one row per referenced partition) must not block dropping the partitions.
create table tree (id bigint primary key, note text);
