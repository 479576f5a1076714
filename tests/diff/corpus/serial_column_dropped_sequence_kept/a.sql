create sequence shared_seq;
create table t (id int default nextval('shared_seq'));
