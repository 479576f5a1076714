create domain d as text;
create table t (v d);
alter domain d add constraint len check (length(value) < 20) not valid;
