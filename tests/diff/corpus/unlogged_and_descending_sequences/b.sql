create sequence u_seq;
create sequence down_seq;
create sequence small_seq as bigint maxvalue 99999999999;
create table t (id int default nextval('down_seq'));
