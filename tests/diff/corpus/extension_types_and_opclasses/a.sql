create schema ext;
create extension citext with schema ext;
create extension pg_trgm with schema ext;
create extension btree_gist with schema ext;
create table t (email ext.citext unique, name text, r int4range, k int);
create index t_trgm on t using gin (name ext.gin_trgm_ops);
alter table t add constraint no_overlap exclude using gist (k with =, r with &&);
