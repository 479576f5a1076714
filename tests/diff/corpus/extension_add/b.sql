create table t (e text);
