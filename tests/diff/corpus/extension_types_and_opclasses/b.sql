create schema ext;
create extension pg_trgm with schema ext;
create table t (email text, name text, r int4range, k int);
create index t_trgm on t (name);
