create table t (id int, v text);
create materialized view mv as select id, v from t with no data;
create unique index mv_id on mv (id);
create index mv_v on mv (v) where v is not null;
comment on index mv_id is 'uniq';
