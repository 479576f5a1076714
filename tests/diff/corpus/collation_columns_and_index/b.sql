create table t (a text, b text collate "C", c varchar(20));
create index t_a on t (a);
create index t_c on t (lower(c));
