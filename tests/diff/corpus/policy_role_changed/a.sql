create table t (id int, owner_name text);
alter table t enable row level security;
create policy own on t for all to @ROLE1@ using (owner_name = current_user);
grant select on t to @ROLE1@;
