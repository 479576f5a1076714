create function acc(a bigint, b int) returns bigint language sql immutable as 'select a + b';
create aggregate total(int) (sfunc = acc, stype = bigint, initcond = '0');
create view v as select total(x) from (values (1), (2)) t(x);
