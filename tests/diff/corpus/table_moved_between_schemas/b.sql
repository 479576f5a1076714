create schema old_home;
create table old_home.t (id int);
