create table t (a text, b int, c text, d text);
alter table t alter a set statistics 500;
alter table t alter c set storage external;
alter table t alter d set compression pglz;
alter table t alter b set (n_distinct = 100);
