create schema s1; create schema s2;
create table s1.t (id int primary key, v int); create table s2.t (id int primary key, v text);
create index ix on s1.t (v); create index ix on s2.t (v, id);
create function s1.tf() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger trg before insert on s1.t for each row execute function s1.tf();
create trigger trg before update on s2.t for each row execute function s1.tf();
create policy pol on s1.t using (v > 0); create policy pol on s2.t using (v <> '');
create view s1.v as select * from s2.t; create view s2.v as select * from s1.t;
