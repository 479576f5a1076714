create table base (id int, created date);
create table child (id int, created date, extra text);
