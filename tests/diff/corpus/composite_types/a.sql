create type pair as (a int, b text, c numeric);
create type fresh as (x int);
create table t (p pair);
