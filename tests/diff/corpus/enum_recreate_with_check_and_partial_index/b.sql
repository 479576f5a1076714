create type st as enum ('new', 'old', 'done');
create table t (id int, s st, constraint not_new check (s <> 'new'));
create index t_done on t (id) where s = 'done';
