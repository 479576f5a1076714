create function add_one(x int) returns int language sql immutable as 'select x + 1';
create function greet(name text, greeting text default 'hi') returns text language plpgsql as $$ begin return greeting || ' ' || name; end $$;
create function tally(n int) returns bigint language sql as 'select n::bigint * 2';
create procedure bump(inout n int) language plpgsql as $$ begin n := n + 1; end $$;
create function sec() returns int language sql security definer set search_path = pg_catalog as 'select 1';
