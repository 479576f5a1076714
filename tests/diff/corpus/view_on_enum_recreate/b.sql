create type e as enum ('x', 'y', 'z');
create table t (v e);
create view tv as select v from t;
