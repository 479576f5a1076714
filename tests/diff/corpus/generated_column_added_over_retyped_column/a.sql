-- A new generated column over a column that is retyped: the retype goes first (it is
-- refused once a generated column uses the column), however the source orders them.
create table t (id int, g int generated always as (v * 2) stored, v int);
