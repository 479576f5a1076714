create table t (id bigint generated always as identity (start with 1000 increment by 7 minvalue 10 maxvalue 99999 cache 5 cycle),
  a int, g int);
