create type floatrange as range (subtype = float8, subtype_diff = float8mi);
create type daterange2 as range (subtype = date);
create table t (r floatrange, d daterange2);
