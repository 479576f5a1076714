create table t (id int primary key, v text) with (toast.autovacuum_enabled = true);
create index t_v on t (v);
alter table t cluster on t_pkey;
create table t2 (id int, v text);
create index t2_v on t2 (v);
alter table t2 cluster on t2_v;
create table t3 (id int primary key);
alter table t3 cluster on t3_pkey;
