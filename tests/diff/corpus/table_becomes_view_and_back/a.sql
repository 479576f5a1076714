create table src (id int);
create view x as select id from src;
create table y (id int);
