create table p (id int, v text default 'parent', k int) partition by range (k);
create table p1 partition of p for values from (0) to (10);
