create type ct as (a int, b text);
create table tt of ct (primary key (a));
create table tt2 (a int, b text);
create table tt3 of ct;
