create function acc(a int, b int) returns int language sql immutable as 'select a + b';
create aggregate total(int) (sfunc = acc, stype = int);
create view v as select total(x) from (values (1), (2)) t(x);
create function gone(int, int) returns int language sql as 'select $1';
create aggregate gone_agg(int) (sfunc = gone, stype = int);
create view v2 as select gone_agg(1);
