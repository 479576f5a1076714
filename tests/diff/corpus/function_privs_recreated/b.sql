create function f(a int) returns int language sql as 'select a';
grant execute on function f(int) to @ROLE2@;
