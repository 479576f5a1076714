create table m (id int, d int) partition by range (d);
create table m1 partition of m for values from (0) to (50);
create table m2 partition of m for values from (100) to (200) partition by list (id);
create table m2a partition of m2 for values in (1);
