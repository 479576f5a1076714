-- A partition detached into a plain table: DETACH leaves it the parent's primary key,
-- index, check and generated column as its own; the source's plain table keeps only the key.
create table m (
  id int not null,
  k int not null,
  v text default 'd',
  g int generated always as (id * 2) stored,
  constraint m_pkey primary key (id, k),
  constraint m_v_check check (v <> 'bad')
) partition by range (k);
create index m_v_idx on m (v);
create table m1 partition of m for values from (0) to (100);
create table m2 partition of m for values from (100) to (200);
