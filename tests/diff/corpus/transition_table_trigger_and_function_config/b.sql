create table t (id int);
create function f() returns trigger language plpgsql as $$ begin return null; end $$;
create trigger tt after insert on t for each statement execute function f();
create function g() returns int language sql set search_path = public as 'select 1';
