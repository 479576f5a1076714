create sequence s1 as bigint increment by 5 minvalue 10 maxvalue 100000 start with 20 cache 10 cycle;
create sequence s2;
create table t (id int default nextval('s2'));
alter sequence s2 owned by t.id;
