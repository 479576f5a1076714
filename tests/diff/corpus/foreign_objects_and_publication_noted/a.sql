create foreign data wrapper dummy_fdw;
create server dummy_srv foreign data wrapper dummy_fdw;
create foreign table ft (id int) server dummy_srv;
create table t (id int primary key);
create publication pub for table t;
