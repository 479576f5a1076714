create sequence q; grant usage on sequence q to @ROLE1@;
create type e as enum ('a');
create domain d as int;
create table t (id int, s text); grant update (s, id) on t to public; grant all on t to @ROLE2@;
