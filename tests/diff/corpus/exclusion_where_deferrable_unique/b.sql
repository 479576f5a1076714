create table b (id int, r int4range, active bool, code int,
  constraint ex exclude using gist (r with &&),
  constraint u unique (code));
