create table p (id int, k int, primary key (id, k)) partition by list (k);
create table p1 partition of p for values in (1);
create table c (id int, pid int, k int, foreign key (pid, k) references p) partition by hash (id);
create table c0 partition of c for values with (modulus 2, remainder 0);
