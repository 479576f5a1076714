create table t (id int, x int);
create view v as select id, x from t;
create materialized view mv as select id, sum(x) as s from v group by id;
create index mv_id on mv (id);
comment on materialized view mv is 'totals';
