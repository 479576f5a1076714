create table b (id int, r int4range, active bool, code int,
  constraint ex exclude using gist (r with &&) where (active),
  constraint u unique (code) deferrable initially deferred);
