create table p (id int, code int not null, x int);
create unique index p_code on p (code) include (x);
create table c (id int, code int references p (code) on delete cascade);
