create domain pos as int check (value > 0);
create domain small_pos as pos check (value < 100);
create type pt as (x pos, y small_pos);
create table t (a small_pos[], c pos default 1);
create function uses_pt(p pt) returns int language sql as 'select (p).x';
