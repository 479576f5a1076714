create extension if not exists btree_gist;
create table t (id int, amount int check (amount > 0), during tstzrange,
  exclude using gist (id with =, during with &&));
