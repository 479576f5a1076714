create table p1 (a int);
create table p2 (b int);
create table c () inherits (p1, p2);
