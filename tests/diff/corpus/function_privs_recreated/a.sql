create function f(a int) returns bigint language sql security definer set search_path = pg_catalog as 'select a::bigint';
revoke execute on function f(int) from public;
grant execute on function f(int) to @ROLE1@;
comment on function f(int) is 'f';
