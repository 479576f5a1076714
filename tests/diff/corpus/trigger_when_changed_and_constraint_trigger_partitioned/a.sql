create function tf() returns trigger language plpgsql as $$ begin return new; end $$;
create table t (id int, v text);
create trigger w before update on t for each row when (old.v is distinct from new.v) execute function tf();
create table p (id int, k int) partition by list (k);
create table p1 partition of p for values in (1);
create constraint trigger ct after insert on p deferrable initially deferred for each row execute function tf();
