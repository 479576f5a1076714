create type e as enum ('a', 'bee', 'c');
create table t (x e);
