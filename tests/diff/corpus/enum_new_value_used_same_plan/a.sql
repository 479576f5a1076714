create type st as enum ('a', 'b', 'c');
create table t (s st default 'c', constraint not_b check (s <> 'b'));
create index t_c on t (s) where s = 'c';
