create table t (a text default 'y', b int, c text, d timestamptz default clock_timestamp());
