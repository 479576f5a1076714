-- The child leaves its parent while the parent gains columns (one generated over id, which
-- the child drops): NO INHERIT goes first, so the parent's ADD COLUMN no longer reaches it.
create table t (id int, v text);
create table c (x int) inherits (t);
