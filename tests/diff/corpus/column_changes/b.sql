create table t (
  id int primary key,
  name varchar(50),
  price integer default 1,
  code text,
  created timestamp,
  removed text
);
