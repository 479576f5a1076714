create table t (id int, owner_name text);
alter table t enable row level security;
create policy sel on t for select to @ROLE1@ using (owner_name = current_user);
create policy ins on t for insert with check (id > 0);
create policy del on t for delete using (true);
