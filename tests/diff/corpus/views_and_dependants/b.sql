create table t (id int primary key, amount integer, label text);
create view v1 as select id, amount from t where amount > 0;
create view v2 as select id, amount * 2 as double from v1;
create view v_old as select label from t;
