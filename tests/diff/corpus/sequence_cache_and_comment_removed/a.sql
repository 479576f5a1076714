create sequence s cache 20;
create table t (id int);
