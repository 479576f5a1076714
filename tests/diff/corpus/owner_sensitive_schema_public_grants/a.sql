revoke create on schema public from public;
create table t (id int);
revoke all on t from public;
