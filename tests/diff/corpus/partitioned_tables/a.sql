create table m (id int, d date not null, v text) partition by range (d);
create table m_2020 partition of m for values from ('2020-01-01') to ('2021-01-01');
create table m_2021 partition of m for values from ('2021-01-01') to ('2022-06-01');
create table m_2022 partition of m for values from ('2022-06-01') to ('2023-01-01');
create index m_d on m (d);
alter table m add primary key (id, d);
