create table p1 (a int);
create table p2 (b int);
create table c () inherits (p2, p1);
comment on table c is 'child';
