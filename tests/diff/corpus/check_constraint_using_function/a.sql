create function is_pos(n int) returns boolean language sql immutable as 'select n > 0';
create table t (n int constraint n_pos check (is_pos(n)));
