create table m (id int, k text) partition by list (k);
create table m_a partition of m for values in ('a');
