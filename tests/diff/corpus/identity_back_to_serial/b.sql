create table t (id int generated always as identity (start with 100 increment by 2) primary key, x text);
