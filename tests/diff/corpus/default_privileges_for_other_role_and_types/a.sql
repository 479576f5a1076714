create schema s;
alter default privileges for role @ROLE1@ in schema s grant select, update on sequences to @ROLE2@;
alter default privileges for role @ROLE1@ revoke usage on types from public;
alter default privileges grant create on schemas to @ROLE2@;
