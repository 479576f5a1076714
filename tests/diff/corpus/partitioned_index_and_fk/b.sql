create table parent (id int primary key);
create table ev (id int, pid int, d date) partition by range (d);
create table ev_1 partition of ev for values from ('2020-01-01') to ('2030-01-01');
