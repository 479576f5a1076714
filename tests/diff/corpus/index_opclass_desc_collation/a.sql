create table t (a text, b int, c text);
create index t_a on t (a text_pattern_ops);
create index t_b on t (b desc nulls last);
create index t_c on t (c collate "C");
