create table t (a text collate "C" default 'x', b int default (1 + 2), c text default current_user, d timestamptz default now());
