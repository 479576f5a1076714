-- The child leaves its parent, whose check is dropped (before the NO INHERIT, so the
-- child's copy goes along): the source's child has that check as its own (c1) or not (c2).
create table base (id int, v text);
create table c1 (id int, v text, x int, constraint base_v_check check (v <> 'bad'));
create table c2 (id int, v text, x int);
