create table t (id int, email text, secret text);
grant select (id, secret) on t to @ROLE1@;
