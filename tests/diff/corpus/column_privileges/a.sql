create table t (id int, email text, secret text);
grant select (id, email) on t to @ROLE1@;
grant update (email) on t to @ROLE2@ with grant option;
