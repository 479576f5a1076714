create table t (x int, constraint x_pos check (x > 0) not valid);
