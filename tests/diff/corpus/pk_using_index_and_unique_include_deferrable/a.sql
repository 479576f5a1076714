create table t (id int not null, code text not null, note text);
create unique index t_ident on t (id);
alter table t add constraint t_ident primary key using index t_ident;
alter table t add constraint t_code unique (code) include (note) deferrable;
