create schema ext;
create extension hstore with schema ext version '1.8';
create extension pg_trgm version '1.6';
comment on extension hstore is 'kv';
create table t (h ext.hstore);
