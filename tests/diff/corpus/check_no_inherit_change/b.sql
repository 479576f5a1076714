create table par (x int, constraint pos check (x > 0));
create table ch () inherits (par);
