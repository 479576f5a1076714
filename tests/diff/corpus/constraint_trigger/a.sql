create table t (id int);
create function chk() returns trigger language plpgsql as $$ begin return null; end $$;
create constraint trigger t_chk after insert on t deferrable initially deferred for each row execute function chk();
