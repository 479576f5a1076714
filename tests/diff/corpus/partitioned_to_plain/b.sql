create table m (id int, note text) partition by range (id);
create table m1 partition of m for values from (0) to (10);
create table m2 partition of m for values from (10) to (20);
create index m_id on m (id);
