create table t (n integer, b boolean, ts timestamptz);
