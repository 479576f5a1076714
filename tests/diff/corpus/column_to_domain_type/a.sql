create domain email as text check (value like '%@%');
create table t (e email, n int);
