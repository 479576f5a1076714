create table t (id int);
create function f() returns trigger language plpgsql set work_mem = '64MB' as $$ begin return null; end $$;
create trigger tt after insert on t referencing new table as newrows for each statement execute function f();
create function g() returns int language sql set search_path = "$user", public set statement_timeout = '5s' as 'select 1';
