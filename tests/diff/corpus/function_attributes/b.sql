create function f1(x int) returns int language plpgsql volatile parallel unsafe as $$ begin return x + 1; end $$;
create function f2() returns int language plpgsql as $$ begin return 1; end $$;
create function f3(a int) returns int language sql immutable as 'select a';
create function f4() returns setof int language sql as 'select 1';
