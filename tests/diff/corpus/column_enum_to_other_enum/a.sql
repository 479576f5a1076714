create type new_st as enum ('x', 'y');
create table t (s new_st default 'x');
