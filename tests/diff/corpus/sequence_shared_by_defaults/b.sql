create sequence shared;
create table a (id int default nextval('shared'), y int);
create table b (x int);
create sequence other owned by b.x;
