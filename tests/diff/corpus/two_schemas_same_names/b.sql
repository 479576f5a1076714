create schema s1; create schema s2;
create table s1.t (id int primary key, v int); create table s2.t (id int primary key, v text);
create index ix on s1.t (v, id); create index ix on s2.t (v);
create function s1.tf() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger trg before update on s1.t for each row execute function s1.tf();
create trigger trg before insert on s2.t for each row execute function s1.tf();
create view s1.v as select * from s1.t; create view s2.v as select * from s2.t;
