create schema e3;
grant create on schema public to public;
