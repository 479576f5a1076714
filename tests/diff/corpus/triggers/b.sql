create table t (id int, updated timestamptz);
create function touch() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger t_touch before insert on t for each row execute function touch();
create trigger t_old after delete on t for each row execute function touch();
