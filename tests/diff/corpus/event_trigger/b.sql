create function et() returns event_trigger language plpgsql as $$ begin null; end $$;
create event trigger "Et Off" on sql_drop execute function et();
create event trigger old_one on ddl_command_start execute function et();
