-- An enum recreated (a value removed) while a table using it is recreated (it gains a
-- parent): the table is dropped before the type changes, so none of its columns converts.
create type mood as enum ('a', 'c');
create table base (id int);
create table t (m mood default 'a') inherits (base);
