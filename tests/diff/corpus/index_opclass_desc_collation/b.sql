create table t (a text, b int, c text);
create index t_a on t (a);
create index t_b on t (b);
