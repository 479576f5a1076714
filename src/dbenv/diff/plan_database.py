"""Plan the database-wide objects that belong to no schema: event triggers.

Kinds diff does not compare (operators, casts, text search objects, foreign
servers, ...) are not planned; when one side has such an object the other lacks,
the plan says so in a note, as the plan cannot converge them.

An event trigger is dropped and created again when its event, tags or function
change, or when its function is dropped and created again by this plan.
"""

from __future__ import annotations

from dbenv.diff.builder import Builder, Phase

_ENABLE = {"O": "ENABLE", "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}


def plan_event_triggers(b: Builder) -> None:
    source, target = b.source.event_triggers, b.target.event_triggers
    for key, old in target.items():
        new = source.get(key)
        broken = old.function is not None and old.function in b.broken
        if new is None or new.definition != old.definition or broken:
            b.add(Phase.DROP_TRIGGERS, f"DROP {old.sql_target}", action="drop", target=key)
            b.recreated.add(key)
    for key, new in source.items():
        kept = None if key in b.recreated else target.get(key)
        if kept is None:
            b.add(Phase.TRIGGERS, new.definition, action="create", target=key)
        if new.enabled != (kept.enabled if kept is not None else "O"):
            sql = f"ALTER {new.sql_target} {_ENABLE.get(new.enabled, 'ENABLE')}"
            b.add(Phase.ROW_SECURITY, sql, target=key)


def note_not_compared(b: Builder) -> None:
    for side, only in (
        ("source", b.source.not_compared - b.target.not_compared),
        ("target", b.target.not_compared - b.source.not_compared),
    ):
        for description in sorted(only):
            note = (
                f"{description} exists only in the {side}: diff does not compare this kind "
                "of object; create or drop it by hand"
            )
            b.notes.append(note)
            b.unplanned.append(note)
