create table base (id int);
create table child (extra text);
create table other (id int, created date);
