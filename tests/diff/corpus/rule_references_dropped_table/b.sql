create table t (id int);
create table audit (id int);
create rule t_audit as on insert to t do also insert into audit values (new.id);
