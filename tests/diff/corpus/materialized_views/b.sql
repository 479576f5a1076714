create table t (id int, cat text, amount int);
create materialized view mv as select cat, count(*) as n from t group by cat;
create index mv_cat on mv (cat);
create materialized view mv_old as select 1 as one;
