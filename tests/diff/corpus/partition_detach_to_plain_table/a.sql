create table m (id int, k int) partition by list (k);
create table m1 partition of m for values in (1);
create table m2 (id int, k int);
