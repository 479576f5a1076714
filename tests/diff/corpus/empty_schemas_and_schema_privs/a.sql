create schema e1; create schema "E 2";
grant usage, create on schema e1 to public;
grant usage on schema "E 2" to @ROLE1@ with grant option;
revoke create on schema public from public;
