create table t (id int, owner_name text);
alter table t enable row level security; alter table t force row level security;
create policy sel on t for select to @ROLE1@, @ROLE2@ using (owner_name = current_user);
create policy ins on t as restrictive for insert to public with check (id > 0);
create policy upd on t for update using (true) with check (id > 0);
