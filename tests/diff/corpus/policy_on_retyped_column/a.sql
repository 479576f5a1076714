create table t (id int, tenant bigint);
alter table t enable row level security;
create policy p on t using (tenant > 0);
