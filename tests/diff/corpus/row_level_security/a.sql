create table docs (id int, owner_name text, tenant int);
alter table docs enable row level security;
alter table docs force row level security;
create policy docs_owner on docs for select to @ROLE1@ using (owner_name = current_user);
create policy docs_tenant on docs as restrictive for all to @ROLE1@, @ROLE2@ using (tenant = 1) with check (tenant = 1);
create table open_t (id int);
