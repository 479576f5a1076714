create table t (id int not null, constraint t_id_key unique (id));
create table c (t_id int references t (id));
