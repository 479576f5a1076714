create table t (id serial, other int);
create sequence shared_seq;
