create sequence s;
comment on sequence s is 'note';
create table t (id int);
comment on table t is 'table';
comment on column t.id is 'col';
