create table p (id int, k int, primary key (id, k)) partition by list (k);
create table p1 partition of p for values in (1);
create table c (id int, pid int, k int, foreign key (pid, k) references p deferrable initially deferred) partition by hash (id);
create table c0 partition of c for values with (modulus 2, remainder 0);
create table c1 partition of c for values with (modulus 2, remainder 1);
alter table p1 enable row level security;
create policy only1 on p1 using (k = 1);
