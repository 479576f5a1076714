create table old_items (id int primary key, code text);
create index by_code on old_items (code);
