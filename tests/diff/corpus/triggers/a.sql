create table t (id int, updated timestamptz);
create function touch() returns trigger language plpgsql as $$ begin new.updated := now(); return new; end $$;
create trigger t_touch before update on t for each row execute function touch();
create trigger t_stmt after insert on t for each statement execute function touch();
create trigger t_when before update of id on t for each row when (old.id is distinct from new.id) execute function touch();
