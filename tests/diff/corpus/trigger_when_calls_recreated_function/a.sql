create function big(x int) returns bigint language sql immutable as 'select x::bigint';
create function tf() returns trigger language plpgsql as $$ begin return new; end $$;
create table t (id int);
create trigger w before insert on t for each row when (big(new.id) > 10) execute function tf();
