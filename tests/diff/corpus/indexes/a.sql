create table t (id int, name text, email text, data jsonb, created date);
create index t_name_lower on t (lower(name));
create unique index t_email on t (email) where email is not null;
create index t_data on t using gin (data);
create index t_cover on t (id) include (name, email);
create unique index t_nnd on t (name, created) nulls not distinct;
create index t_brin on t using brin (created);
