create type st as enum ('on', 'off');
create table t (s st not null default 'on');
