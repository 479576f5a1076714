create table t (id int, name text, email text, data jsonb, created date);
create index t_name_lower on t (name);
create unique index t_email on t (email);
create index t_old on t (created);
