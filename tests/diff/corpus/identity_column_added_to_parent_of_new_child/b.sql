-- An identity column added to a table that gains a child in the same plan (the child is
-- created first): added as a plain column, then made an identity.
create table base (id int);
create table c (x int);
