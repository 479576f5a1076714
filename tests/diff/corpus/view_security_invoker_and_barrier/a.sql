create table t (x int);
create view v with (security_invoker = true, security_barrier = true) as select x from t;
