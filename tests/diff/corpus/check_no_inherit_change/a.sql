create table par (x int, constraint pos check (x > 0) no inherit);
create table ch () inherits (par);
