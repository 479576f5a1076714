create domain pos as int check (value >= 0);
create domain small_pos as pos;
create type pt as (x pos, y int);
create table t (a int[], c int);
