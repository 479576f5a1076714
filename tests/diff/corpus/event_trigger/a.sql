create function et() returns event_trigger language plpgsql as $$ begin null; end $$;
create event trigger et_ddl on ddl_command_end when tag in ('CREATE TABLE') execute function et();
create event trigger "Et Off" on sql_drop execute function et();
alter event trigger "Et Off" disable;
comment on event trigger et_ddl is 'ddl';
