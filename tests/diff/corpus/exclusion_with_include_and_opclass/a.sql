create extension if not exists btree_gist;
create table b (room int, during tsrange, note text,
  constraint no_double exclude using gist (room with =, during with &&) include (note) where (room > 0));
