create table log (msg text);
create procedure p(m text) language sql as $$ insert into log values (upper(m)) $$;
