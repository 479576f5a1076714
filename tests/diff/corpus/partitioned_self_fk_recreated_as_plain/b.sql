create table tree (
  id int not null,
  k int not null,
  parent_id int,
  parent_k int,
  primary key (id, k),
  foreign key (parent_id, parent_k) references tree (id, k) on delete cascade
) partition by range (k);
create table tree_low partition of tree for values from (0) to (100);
create table tree_high partition of tree for values from (100) to (200);
