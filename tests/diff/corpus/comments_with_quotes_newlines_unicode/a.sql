create schema s; comment on schema s is E'line1\nline2 ''quoted'' ünï';
create table s.t (id int constraint t_pk primary key, r int);
create table s.c (id int, tid int constraint c_fk references s.t);
comment on constraint c_fk on s.c is 'fk note $$ dollar';
create materialized view s.mv as select id from s.t;
create index mv_i on s.mv (id); comment on index s.mv_i is 'mv index';
comment on extension plpgsql is 'PL/pgSQL procedural language';
