create table docs (id int, owner_name text, tenant int);
create policy docs_owner on docs for select to public using (true);
create policy docs_old on docs for delete using (false);
create table open_t (id int);
alter table open_t enable row level security;
