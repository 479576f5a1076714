create table t (id uuid);
