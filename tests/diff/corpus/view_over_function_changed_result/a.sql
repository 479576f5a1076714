create function f() returns table (a int, b text) language sql as 'select 1, ''x''';
create view v as select * from f();
create view v2 as select a from v;
