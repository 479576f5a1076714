create table t (id int, tags text[], doc jsonb, ts timestamptz, v text);
create index t_gin on t using gin (tags) with (fastupdate = off);
create index t_brin on t using brin (ts) with (pages_per_range = 16);
create index t_hash on t using hash (v);
create index t_jsonb on t using gin (doc jsonb_path_ops);
create index t_expr on t ((doc ->> 'k')) include (id) where id > 0;
alter index t_expr alter column 1 set statistics 300;
