create function f(a int) returns int language sql as 'select a';
create function f(a numeric) returns numeric language sql as 'select a';
