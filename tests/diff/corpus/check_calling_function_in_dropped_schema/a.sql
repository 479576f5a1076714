create schema keep;
create table keep.t (v int);
