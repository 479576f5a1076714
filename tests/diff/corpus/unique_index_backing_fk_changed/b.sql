create table p (a int, b int);
create unique index p_a on p (a) include (b);
create table c (a int references p (a));
