create sequence shared as int start 100 increment 5 minvalue 1 maxvalue 100000 cycle;
create table a (id int default nextval('shared'));
create table b (id int default nextval('shared'), x int);
