create type floatrange as range (subtype = float8);
create type unused_range as range (subtype = int4);
create table t (r floatrange);
