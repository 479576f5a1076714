create table m (id int, note text);
create view mv as select id from m;
