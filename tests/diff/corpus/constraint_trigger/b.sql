create table t (id int);
create function chk() returns trigger language plpgsql as $$ begin return null; end $$;
