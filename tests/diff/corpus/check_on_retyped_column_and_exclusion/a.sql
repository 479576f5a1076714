create extension if not exists btree_gist;
create table t (id bigint, amount numeric check (amount > 0), during tstzrange,
  exclude using gist (id with =, during with &&));
