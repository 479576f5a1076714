create type st as enum ('open', 'done');
create table task (id int, s st not null default 'open');
create function is_open(x st) returns boolean language sql immutable as $$ select x = 'open' $$;
create function label(x st) returns text language sql as $$ select x::text $$;
create view open_tasks as select id from task where is_open(s);
