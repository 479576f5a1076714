"""Sync's structure step leaves database-wide objects alone (schema diff reads them now)."""

from __future__ import annotations

import psycopg

from dbenv.diff.introspect import introspect
from dbenv.sync.structure import narrow


def test_narrow_drops_database_wide_objects_and_keeps_rules_of_selected_tables(
    scratch_db: str,
) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute(
            """
            create table t (id int); create table other (id int);
            create rule t_nothing as on delete to t do instead nothing;
            create rule other_nothing as on delete to other do instead nothing;
            alter default privileges grant select on tables to public;
            create function same(int, int) returns bool language sql as 'select $1 = $2';
            create operator === (leftarg = int, rightarg = int, function = same);
            create function et() returns event_trigger language plpgsql as $$ begin end $$;
            create event trigger et_ddl on ddl_command_end execute function et();
            """
        )
        model = introspect(conn)
        conn.execute("drop event trigger et_ddl")
    assert model.default_privileges and model.event_triggers and model.not_compared
    narrowed = narrow(model, lambda schema, table: table == "t")
    assert list(narrowed.rules) == ["rule:public.t:t_nothing"]
    assert not narrowed.default_privileges
    assert not narrowed.event_triggers
    assert not narrowed.not_compared
