create table t (id int not null primary key);
