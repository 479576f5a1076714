create table m (id int, note text) partition by list (id);
create table m1 partition of m for values in (1, 2);
create view mv as select id from m;
