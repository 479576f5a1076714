create table p (id int primary key, k int);
create table m (id int, pid int, k int) partition by list (k);
create table m1 partition of m for values in (1);
create table c (pid int references p);
