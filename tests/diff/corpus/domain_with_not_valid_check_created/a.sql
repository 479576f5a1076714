create table t (v int);
create domain d as text;
alter domain d add constraint len check (length(value) < 20) not valid;
alter domain d add constraint nonblank check (value <> '');
create domain e as int;
alter domain e add constraint big check (value > 10) not valid;
