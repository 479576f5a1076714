create table p (id int, v int, k int, constraint v_pos check (v >= 0)) partition by list (k);
create table p1 partition of p for values in (1);
comment on column p.v is 'value';
comment on table p1 is 'gone';
