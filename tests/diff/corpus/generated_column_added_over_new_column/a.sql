-- A generated column added over a column also new, declared after it: plain columns are
-- added first.
create table t (id int, g int generated always as (n * 2) stored, n int);
