create table m (id int, d date not null) partition by range (d);
create table m_2020 partition of m for values from ('2020-01-01') to ('2021-01-01');
create table m_2021 partition of m for values from ('2021-01-01') to ('2022-01-01');
create table m_old partition of m for values from ('2000-01-01') to ('2001-01-01');
