create table t (price int, qty int, total numeric generated always as (price * qty) stored);
