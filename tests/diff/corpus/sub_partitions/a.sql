create table m (id int, d date, k int) partition by range (d);
create table m_2020 partition of m for values from ('2020-01-01') to ('2021-01-01') partition by list (k);
create table m_2020_1 partition of m_2020 for values in (1);
create table m_def partition of m default;
