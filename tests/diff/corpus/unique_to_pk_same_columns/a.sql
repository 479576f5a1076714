create table t (id int not null, constraint t_pkey primary key (id));
create table c (t_id int references t (id));
