create table t (price numeric, qty int);
