create table t (a text, b int, c text, d text);
alter table t alter b set statistics 10;
alter table t alter a set storage main;
