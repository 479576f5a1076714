create function f() returns table (a int) language sql as 'select 1';
create view v as select * from f();
create view v2 as select a from v;
