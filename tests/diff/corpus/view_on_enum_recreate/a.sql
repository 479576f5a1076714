create type e as enum ('x', 'z');
create table t (v e);
create view tv as select v from t;
