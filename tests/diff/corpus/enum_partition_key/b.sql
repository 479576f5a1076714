create type e as enum ('b', 'a');
create table p (id int, k e) partition by list (k);
create table p_a partition of p for values in ('a');
