create schema keep; create schema util;
create function util.pos(int) returns bool language sql immutable as 'select $1 > 0';
create table keep.t (v int check (util.pos(v)) default 1);
create index t_pos on keep.t (util.pos(v));
create view util.v as select v from keep.t where util.pos(v);
