create procedure pr(in a int, inout b int) language plpgsql as $$ begin b := a; end $$;
create function fo(a int, out x int) language sql as 'select a';
create function fv(xs int[]) returns int language sql as 'select array_length(xs, 1)';
