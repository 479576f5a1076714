create type mood as enum ('ok', 'gone', 'late');
create table t (id int, m mood, constraint not_ok check (m <> 'ok'));
create index t_not_gone on t (id) where m <> 'gone';
