create schema s;
create function s.add2(int, int) returns int language sql immutable as 'select $1 + $2';
create aggregate s.mysum(int) (sfunc = s.add2, stype = int, initcond = '5');
create aggregate s.other(int) (sfunc = s.add2, stype = int);
create function s.fin(int) returns text language sql immutable as 'select ($1 + 1)::text';
create aggregate s.txt(int) (sfunc = s.add2, stype = int, finalfunc = s.fin);
revoke execute on function s.txt(int) from public;
