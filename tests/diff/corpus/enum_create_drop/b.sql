create type colour as enum ('red'); create table t (m text);
