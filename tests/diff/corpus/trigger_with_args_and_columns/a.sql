create table t (a int, b int);
create function tf() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger tt after update of a, b on t for each row when (new.a > 0) execute function tf('x', 'y');
