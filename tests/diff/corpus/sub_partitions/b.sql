create table m (id int, d date, k int) partition by range (d);
