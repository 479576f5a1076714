create table t (id int primary key, v text) with (toast.autovacuum_enabled = false, fillfactor = 50);
create index t_v on t (v) with (fillfactor = 60);
alter table t cluster on t_v;
create table t2 (id int, v text);
create index t2_v on t2 (v desc);
alter table t2 cluster on t2_v;
create table t3 (id int primary key);
