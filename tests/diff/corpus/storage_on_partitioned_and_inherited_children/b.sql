create table p (id int, doc text, k int) partition by list (k);
create table p1 partition of p for values in (1);
create table par (a text);
create table ch () inherits (par);
alter table par alter a set storage external;
