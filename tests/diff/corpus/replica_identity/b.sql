create table a (id int not null, constraint a_id unique (id));
create table b (id int);
create table c (id int primary key);
alter table c replica identity nothing;
