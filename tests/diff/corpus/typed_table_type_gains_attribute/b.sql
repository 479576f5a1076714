create type ct as (a int, b text);
create table tt of ct;
