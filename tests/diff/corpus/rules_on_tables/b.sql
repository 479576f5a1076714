create table t (id int, v text);
create table log (id int, note text);
create rule t_ins as on insert to t do also insert into log values (new.id, 'other');
create rule t_upd as on update to t do instead nothing;
create function tf() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger t1 before insert on t for each row execute function tf();
create trigger t2 before update on t for each row execute function tf();
alter table t disable trigger t2;
create view v as select id, v from t;
