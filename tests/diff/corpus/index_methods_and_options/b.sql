create table t (id int, tags text[], doc jsonb, ts timestamptz, v text);
create index t_gin on t using gin (tags);
create index t_brin on t using brin (ts);
create index t_hash on t (v);
create index t_jsonb on t using gin (doc);
create index t_expr on t ((doc ->> 'k'));
