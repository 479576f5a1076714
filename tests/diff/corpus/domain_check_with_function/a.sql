create function is_even(n int) returns boolean language sql immutable as 'select n % 2 = 0';
create domain even as int check (is_even(value));
create table t (e even);
