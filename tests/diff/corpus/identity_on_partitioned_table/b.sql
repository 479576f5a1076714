create table p (id int, k int) partition by list (k);
create table p1 partition of p for values in (1);
