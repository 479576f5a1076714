create procedure pr(in a int, inout b int default 0) language plpgsql as $$ begin b := a; end $$;
create function fo(a int, out x int, out y text) language sql as 'select a, a::text';
create function fv(variadic xs int[]) returns int language sql as 'select array_length(xs, 1)';
