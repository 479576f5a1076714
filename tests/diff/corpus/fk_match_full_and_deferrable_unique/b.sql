create table p (a int, b int, constraint p_ab unique (a, b));
create table c (a int, b int, constraint c_fk foreign key (a, b) references p (a, b));
create table d (x int, constraint d_x unique (x));
