create table keep (id int primary key);
create table gone (id int primary key, keep_id int references keep(id));
create table gone2 (id int references gone(id));
