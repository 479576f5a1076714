create type pair as (a int, b varchar(5), d int);
create table t (p pair);
