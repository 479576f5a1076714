create type st as enum ('open', 'blocked', 'done', 'zzz');
create table task (id int, s st not null default 'open');
create function is_open(x st) returns boolean language sql immutable as $$ select x = 'open' $$;
create function old_fn(x st) returns st language sql as $$ select x $$;
create view open_tasks as select id from task where is_open(s);
