create table p (a int, g int generated always as (a * 2) stored, k int) partition by range (k);
create table p1 partition of p for values from (0) to (10);
create table i (id int generated always as identity, v text);
