create table t (id int);
create function trg() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger t1 before insert on t for each row execute function trg();
