create function et() returns event_trigger language plpgsql as $$ begin null; end $$;
create event trigger a_et on ddl_command_start when tag in ('DROP TABLE') execute function et();
