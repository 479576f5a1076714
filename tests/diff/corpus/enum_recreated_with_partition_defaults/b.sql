-- An enum recreated (a value removed) drops and sets its columns' defaults: the parent's
-- recurse to its partitions (wiping p1's own), and p2's own goes before p2 is attached.
create type mood as enum ('big', 'idle', 'done');
create table t (id int, k text not null, m mood default 'big') partition by list (k);
create table p1 partition of t for values in ('a');
alter table only p1 alter column m set default 'done';
create table p2 (id int, k text not null, m mood default 'big');
