create function f1(x int) returns int language sql stable strict parallel safe cost 5 as 'select x + 1';
create function f2() returns int language plpgsql security definer set search_path = pg_catalog, public as $$ begin return 1; end $$;
create function f3(a int) returns int language sql leakproof immutable as 'select a';
create function f4() returns setof int language sql rows 42 as 'select 1';
