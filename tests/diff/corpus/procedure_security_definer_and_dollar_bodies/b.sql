create procedure sp(x int) language plpgsql as $$ begin null; end $$;
create function lit() returns text language sql as $$select 'x'$$;
