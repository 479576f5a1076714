create table m (id int, k text) partition by range (id);
create table m_a partition of m for values from (0) to (10);
