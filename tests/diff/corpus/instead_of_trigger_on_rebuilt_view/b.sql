create table t (id int);
create view v as select id, 1 as one from t;
create function vf() returns trigger language plpgsql as $$ begin insert into t values (new.id); return new; end $$;
create trigger v_ins instead of insert on v for each row execute function vf();
