create domain posint as integer constraint posint_positive check (value >= 0) constraint posint_small check (value < 100);
create domain email as text check (value like '%@%');
create domain unused as int;
create table t (n posint, e email);
