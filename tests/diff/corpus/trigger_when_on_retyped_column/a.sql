create table t (id int, amount numeric(12,2));
create function tf() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger big before update of amount on t for each row when (new.amount > 100) execute function tf();
