create type e as enum ('a', 'b', 'c');
create table t (x e);
