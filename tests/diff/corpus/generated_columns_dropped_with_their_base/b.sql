create table t (
  id int primary key,
  base int,
  doubled int generated always as (base * 2) stored,
  plain int generated always as (base + 1) stored
);
