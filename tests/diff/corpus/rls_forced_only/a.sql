create table t (id int);
alter table t enable row level security;
alter table t force row level security;
