create unlogged table u (id int);
create table o (id int) with (fillfactor=70, autovacuum_enabled=false);
