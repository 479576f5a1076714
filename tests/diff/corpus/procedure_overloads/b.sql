create procedure p(a int) language sql as 'select 3';
create procedure p(a bigint) language sql as 'select 2';
create procedure p(inout a int, b int) language plpgsql as $$ begin null; end $$;
