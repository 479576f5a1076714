create extension if not exists pgcrypto; create extension if not exists citext; create table t (e citext);
