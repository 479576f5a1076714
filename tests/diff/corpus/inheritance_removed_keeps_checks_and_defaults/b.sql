-- NO INHERIT leaves the child the parent's check and column default as its own; the
-- second parent still provides its column and check, which stay inherited.
create table base (id int, v text default 'd', constraint base_v_check check (v <> 'bad'));
create table other (w int, constraint other_w_check check (w > 0));
create table child (extra text) inherits (base, other);
