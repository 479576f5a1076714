create schema new_home;
create table new_home.t (id int);
