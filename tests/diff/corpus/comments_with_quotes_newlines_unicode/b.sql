create schema s; comment on schema s is 'old';
create table s.t (id bigint constraint t_pk primary key, r int);
create table s.c (id int, tid int constraint c_fk references s.t);
comment on constraint c_fk on s.c is 'old fk';
create materialized view s.mv as select id from s.t;
create index mv_i on s.mv (id);
comment on extension plpgsql is 'changed';
