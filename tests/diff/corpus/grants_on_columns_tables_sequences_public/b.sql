create table t (id serial);
create schema api;
