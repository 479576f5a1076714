create table keep (id int primary key);
create table new_one (id int primary key, keep_id int references keep(id), note text default 'x');
