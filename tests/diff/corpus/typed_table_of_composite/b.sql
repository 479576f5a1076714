create type ct as (a int, b text);
create table tt (a int primary key, b text);
create table tt2 of ct;
