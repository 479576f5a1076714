create unlogged sequence u_seq;
create sequence down_seq increment by -1 minvalue -1000 maxvalue -1 start with -1;
create sequence small_seq as smallint;
create table t (id int default nextval('down_seq'));
comment on sequence u_seq is 'unlogged';
