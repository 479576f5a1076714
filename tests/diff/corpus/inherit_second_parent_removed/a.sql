create table p1 (a int, constraint a_pos check (a > 1));
create table p2 (b int);
create table c (x int) inherits (p1);
