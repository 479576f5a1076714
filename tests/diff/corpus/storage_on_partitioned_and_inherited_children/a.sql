create table p (id int, doc text, k int) partition by list (k);
create table p1 partition of p for values in (1);
alter table p alter doc set storage external;
alter table only p1 alter doc set statistics 400;
create table par (a text);
create table ch () inherits (par);
alter table only par alter a set storage main;
