create table p (a int, b text, k int) partition by list (k);
create table p1 partition of p for values in (1);
