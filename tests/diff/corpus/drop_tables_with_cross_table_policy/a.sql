create table keep (id int);
