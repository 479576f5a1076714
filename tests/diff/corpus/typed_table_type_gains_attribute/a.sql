create type ct as (a int, b text, c date);
create table tt of ct;
