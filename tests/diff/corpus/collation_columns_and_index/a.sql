create table t (a text collate "C", b text collate "POSIX", c varchar(10));
create index t_a on t (a collate "POSIX" text_pattern_ops);
create index t_c on t (lower(c) collate "C" desc nulls last);
