create table p (id int primary key, code text);
create table c (id int primary key, p_id int references p(id));
