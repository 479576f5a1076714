-- The base column goes, and with it one generated column; another becomes a plain column.
create table t (id int primary key, plain int);
