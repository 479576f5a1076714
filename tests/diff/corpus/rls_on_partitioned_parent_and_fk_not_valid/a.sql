create table p (id int primary key, k int);
create table m (id int, pid int, k int) partition by list (k);
create table m1 partition of m for values in (1);
alter table m enable row level security;
create policy mp on m using (k = 1);
create table c (pid int);
alter table c add constraint c_fk foreign key (pid) references p not valid;
