create table t (id serial);
grant select on t to public;
grant usage, select on sequence t_id_seq to @ROLE1@;
create schema api;
grant usage on schema api to public;
