create domain posint as integer default 1 not null constraint posint_positive check (value > 0);
create domain email as text collate "C" check (value like '%@%');
create table t (n posint, e email);
