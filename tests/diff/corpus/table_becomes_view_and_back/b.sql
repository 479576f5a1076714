create table src (id int);
create table x (id int);
create view y as select id from src;
