create function add_one(x int) returns int language sql as 'select x + 2';
create function greet(name text) returns text language plpgsql as $$ begin return 'hi ' || name; end $$;
create function tally(n int) returns int language sql as 'select n * 2';
create function old_fn() returns void language sql as '';
