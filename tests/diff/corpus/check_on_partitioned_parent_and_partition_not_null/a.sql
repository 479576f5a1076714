create table p (id int, v int, k int, constraint v_pos check (v > 0)) partition by list (k);
create table p1 partition of p for values in (1);
alter table p1 alter v set not null;
comment on column p1.v is null;
