-- A generated column added over a column also new, declared after it: plain columns are
-- added first.
create table t (id int);
