create table r (id int not null, v text);
create unique index r_id on r (id);
alter table r replica identity using index r_id;
create table m (id int, k int) partition by list (k);
create table m1 partition of m for values in (1);
