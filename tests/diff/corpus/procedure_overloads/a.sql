create procedure p(a int) language sql as 'select 1';
create procedure p(a text) language sql as 'select 2';
create procedure p(a int, b int) language plpgsql as $$ begin null; end $$;
revoke execute on procedure p(int) from public;
