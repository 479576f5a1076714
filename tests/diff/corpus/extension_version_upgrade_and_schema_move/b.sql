create schema ext;
create extension hstore with schema ext version '1.6';
create extension pg_trgm with schema ext version '1.5';
create table t (h ext.hstore);
