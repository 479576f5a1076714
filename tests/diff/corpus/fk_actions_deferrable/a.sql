create table p (id int primary key);
create table c (id int, p_id int, constraint c_p_fk foreign key (p_id) references p(id) on update cascade on delete set null deferrable initially deferred);
