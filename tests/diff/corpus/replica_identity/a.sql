create table a (id int not null, constraint a_id unique (id));
alter table a replica identity using index a_id;
create table b (id int);
alter table b replica identity full;
create table c (id int primary key);
