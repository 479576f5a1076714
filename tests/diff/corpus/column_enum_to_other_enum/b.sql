create type old_st as enum ('x', 'y');
create table t (s old_st default 'x');
