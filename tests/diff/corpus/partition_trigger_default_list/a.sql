create function tf() returns trigger language plpgsql as $$ begin return new; end $$;
create table p (id int, k text) partition by list (k);
create table p_ab partition of p for values in ('a', 'b', 'c');
create table p_d partition of p for values in ('d');
create table p_def partition of p default;
create trigger trg after insert on p for each row execute function tf();
create table r (id int, d date) partition by range (d);
create table r1 partition of r for values from ('2020-01-01') to ('2021-06-01');
