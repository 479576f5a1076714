create table u (id int);
create table o (id int) with (fillfactor=90, toast_tuple_target=256);
