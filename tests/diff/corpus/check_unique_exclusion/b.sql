create extension if not exists btree_gist;
create table r (id int, room int, during tstzrange, qty int,
  constraint qty_pos check (qty >= 0),
  constraint r_uniq unique (id));
