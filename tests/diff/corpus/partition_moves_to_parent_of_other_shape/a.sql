-- The partition "part" belongs to a parent with other columns on each side.
create table by_range (id int not null, k int not null) partition by range (k);
create table part partition of by_range for values from (0) to (100);
