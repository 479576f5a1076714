create function g(a int default 2) returns int language sql as 'select a';
create table t (x int default g());
