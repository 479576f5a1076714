create table p (id int primary key);
create table c (id int, p_id int, constraint c_p_fk foreign key (p_id) references p(id));
