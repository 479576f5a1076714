create function allowed(n int) returns boolean language sql stable as 'select n > 0';
create table t (n int);
alter table t enable row level security;
create policy p on t using (allowed(n));
