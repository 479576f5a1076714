create sequence q; grant select, update on sequence q to public;
create type e as enum ('a'); grant usage on type e to @ROLE1@ with grant option;
create domain d as int; revoke usage on domain d from public;
create table t (id int, s text); grant update (s) on t to public; grant references on t to @ROLE2@;
