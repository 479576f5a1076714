create table t (price numeric, qty int, total numeric generated always as (price * qty) stored);
comment on column t.total is 'derived';
