create table par (id int, v text default 'p', n int not null);
create table ch (extra int) inherits (par);
alter table ch alter v set default 'c';
alter table ch alter n drop not null;
alter table ch alter id set not null;
