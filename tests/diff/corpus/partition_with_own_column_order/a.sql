create table p (a int, b text, k int) partition by list (k);
create table p1 (k int, b text, a int);
alter table p attach partition p1 for values in (1);
comment on table p1 is 'attached';
