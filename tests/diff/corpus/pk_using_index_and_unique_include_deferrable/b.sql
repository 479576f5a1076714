create table t (id int not null, code text not null, note text);
alter table t add constraint t_pkey primary key (id);
alter table t add constraint t_code unique (code);
