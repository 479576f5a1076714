create type st as enum ('a', 'b');
create table t (s st default 'a');
