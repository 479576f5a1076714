create schema s;
alter default privileges in schema s grant insert on tables to @ROLE1@;
alter default privileges in schema s grant select on tables to @ROLE2@;
