create procedure sp(x int) language plpgsql security definer set search_path = pg_catalog as $body$ begin raise notice '$$ %', x; end $body$;
create function lit() returns text language sql immutable parallel safe as $q$select 'it''s $$'$q$;
revoke execute on procedure sp(int) from public;
