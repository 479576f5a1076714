create function et() returns event_trigger language plpgsql as $$ begin raise notice 'x'; end $$;
create event trigger a_et on ddl_command_start when tag in ('DROP TABLE', 'ALTER TABLE') execute function et();
