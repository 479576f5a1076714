create function norm(t text) returns text language sql immutable as 'select lower(t)';
create table t (name text);
create index t_norm on t (norm(name));
