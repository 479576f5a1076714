create table t (a int, b int);
create function tf() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger tt after update of a on t for each row execute function tf('x');
