create type e as enum ('a','c','d'); create table t (x e default 'a');
