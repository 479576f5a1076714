create table t (
  id int primary key,
  name varchar(100) not null,
  price numeric(12,2) default 0,
  code text collate "C",
  created timestamptz default now(),
  extra jsonb
);
