"""Sync's structure step: the schema-compare plan, narrowed to the profile's tables.

Both databases are introspected whole (``dbenv.diff``), then each model is cut
down to the tables the profile mirrors or copies the structure of, their
constraints, indexes, triggers and owned sequences, and the schemas, types,
domains, extensions and functions they may need. The target keeps only objects
the source also has outside those tables, so the plan never drops a schema,
type or function the profile did not name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dbenv.diff.model import SchemaModel
from dbenv.diff.plan import Plan, build_plan

if TYPE_CHECKING:
    import psycopg

Selector = Callable[[str, str], bool]


def unquote(name: str) -> str:
    """``"Mixed Case"`` -> ``Mixed Case``; plain identifiers unchanged."""
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name


def narrow(
    model: SchemaModel, selected: Selector, *, keep: SchemaModel | None = None
) -> SchemaModel:
    """Only the selected tables and what hangs off them.

    ``keep``: the narrowed source; shared objects (schemas, types, ...) are kept on
    this side only where ``keep`` has them too, so they are never dropped.
    """
    tables = {k: t for k, t in model.tables.items() if selected(unquote(t.schema), unquote(t.name))}
    names = {t.qualified for t in tables.values()}

    def on_table(children: dict[str, Any]) -> dict[str, Any]:
        return {k: c for k, c in children.items() if c.table in names}

    def owned(seq: Any) -> bool:
        if not seq.owned_by:
            return False
        return seq.owned_by.rsplit(".", 1)[0] in names

    def shared(group: dict[str, Any], other: dict[str, Any] | None) -> dict[str, Any]:
        return dict(group) if other is None else {k: v for k, v in group.items() if k in other}

    schemas = {
        k: s for k, s in model.schemas.items() if any(t.schema == s.name for t in tables.values())
    }
    if keep is not None:
        schemas = {k: s for k, s in model.schemas.items() if k in keep.schemas}
    return replace(
        model,
        schemas=schemas,
        extensions=shared(model.extensions, keep.extensions if keep else None),
        types=shared(model.types, keep.types if keep else None),
        domains=shared(model.domains, keep.domains if keep else None),
        functions=shared(model.functions, keep.functions if keep else None),
        sequences={k: s for k, s in model.sequences.items() if owned(s)},
        tables=tables,
        views={},
        constraints=on_table(model.constraints),
        indexes=on_table(model.indexes),
        triggers=on_table(model.triggers),
        policies=on_table(model.policies),
        rules=on_table(model.rules),
        # Database-wide objects and kinds diff does not compare are not sync's business.
        default_privileges={},
        event_triggers={},
        not_compared=frozenset(),
    )


def structure_plan(
    source: psycopg.Connection[Any], target: psycopg.Connection[Any], selected: Selector
) -> Plan:
    """The statements that bring the target's selected tables in line with the source."""
    from dbenv.diff.introspect import introspect

    wanted = narrow(introspect(source), selected)
    have = narrow(introspect(target), selected, keep=wanted)
    return build_plan(wanted, have)


__all__ = ["narrow", "structure_plan", "unquote"]
