create table p (a int, b int, primary key (a));
create table c (a int, b int, foreign key (a) references p (a));
