create table m (id int, d int) partition by range (d);
create table m1 partition of m for values from (minvalue) to (100);
create table m2 partition of m for values from (100) to (maxvalue) partition by list (id);
create table m2a partition of m2 for values in (1, 2, 3);
create table m2d partition of m2 default;
create index m_d on m (d);
