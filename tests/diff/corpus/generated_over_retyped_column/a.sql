create table t (price numeric(12,2), qty int, total numeric generated always as (price * qty) stored);
