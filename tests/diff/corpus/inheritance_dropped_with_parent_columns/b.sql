create table base (id int, created date);
create table child (extra text) inherits (base);
create table other (id int);
