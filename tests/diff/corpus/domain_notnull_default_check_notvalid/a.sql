create domain d as text not null default 'x' constraint len check (length(value) < 10);
create table t (v d);
comment on domain d is 'dom';
