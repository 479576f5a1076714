create table t (id bigint primary key, amount numeric(10,2), label text);
create view v1 as select id, amount from t where amount > 0;
create view v2 as select id, amount * 2 as double from v1;
create view v3 with (security_barrier) as select id from t;
