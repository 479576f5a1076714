create table p (a int, b int, primary key (a, b));
create table c (id int, a int, b int, foreign key (a, b) references p on delete set null);
create table r (x int4range, exclude using gist (x with &&));
