create table p (id int not null, v text default 'parent', k int) partition by range (k);
create table p1 partition of p (v default 'child', constraint p1_v check (v <> 'x')) for values from (0) to (10);
comment on column p1.v is 'child col';
alter table p1 enable row level security;
create policy p1_pol on p1 using (k > 0);
create index p1_own on p1 (v);
