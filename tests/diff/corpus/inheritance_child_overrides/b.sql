create table par (id int, v text default 'p', n int not null);
create table ch (extra int) inherits (par);
