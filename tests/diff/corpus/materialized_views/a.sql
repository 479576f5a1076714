create table t (id int, cat text, amount int);
create materialized view mv as select cat, sum(amount) as total from t group by cat;
create unique index mv_cat on mv (cat);
create materialized view mv2 as select count(*) from t;
