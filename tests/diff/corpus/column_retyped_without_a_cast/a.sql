-- No cast leads between these types (either way): the retype goes through text.
create table t (id int primary key, happened bigint, tags jsonb, counts bigint[]);
