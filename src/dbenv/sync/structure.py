"""Sync's structure step: the schema-compare plan, narrowed to the profile's tables.

Both databases are introspected whole (``dbenv.diff``), then each model is cut
down to the tables the profile mirrors or copies the structure of, their
constraints, indexes, triggers and owned sequences, and what those use
(``dbenv.sync.needs``: the types, domains, collations, sequences, functions and
extensions their columns, defaults, checks, indexes and triggers reference, and
the schemas all of these live in) — nothing else of the source. The target keeps
only objects the narrowed source also has, so the plan never drops or replaces
a schema, type or function the selected tables do not use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dbenv.diff.model import SchemaModel
from dbenv.diff.model import Sequence as SequenceObject
from dbenv.diff.plan import Plan, build_plan
from dbenv.sync.needs import Needs, needed_objects

if TYPE_CHECKING:
    import psycopg

Selector = Callable[[str, str], bool]


def unquote(name: str) -> str:
    """``"Mixed Case"`` -> ``Mixed Case``; plain identifiers unchanged."""
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name


def narrow(
    model: SchemaModel,
    selected: Selector,
    *,
    needs: Needs | None = None,
    keep: SchemaModel | None = None,
) -> SchemaModel:
    """Only the selected tables, what hangs off them, and the ``needs`` they use.

    ``keep``: the narrowed source; this side (the target) then keeps shared objects
    (schemas, types, functions, ...) only where ``keep`` has them too, so objects
    the selected tables do not use are never dropped or replaced.
    """
    tables = {k: t for k, t in model.tables.items() if selected(unquote(t.schema), unquote(t.name))}
    names = {t.qualified for t in tables.values()}

    def on_table(children: dict[str, Any]) -> dict[str, Any]:
        return {k: c for k, c in children.items() if c.table in names}

    return replace(
        model,
        tables=tables,
        views={},
        constraints=on_table(model.constraints),
        indexes=on_table(model.indexes),
        triggers=on_table(model.triggers),
        policies=on_table(model.policies),
        rules=on_table(model.rules),
        statistics=on_table(model.statistics),
        # Database-wide objects and kinds diff does not compare are not sync's business.
        default_privileges={},
        event_triggers={},
        not_compared=frozenset(),
        **_shared(model, tables, needs or Needs(), keep),
    )


def _shared(
    model: SchemaModel, tables: dict[str, Any], needs: Needs, keep: SchemaModel | None
) -> dict[str, Any]:
    """Schemas, sequences, types, functions, ...: the needed ones, or (target) ``keep``'s."""
    names = {t.qualified for t in tables.values()}

    def owned(seq: SequenceObject) -> bool:
        owner = seq.owned_by
        return bool(owner and owner.rsplit(".", 1)[0] in names)

    groups = ("extensions", "types", "domains", "functions", "collations", "sequences")
    # keys carry their kind ("type:...", "function:..."), so one set serves every group
    wanted: Any = needs.objects
    if keep is not None:
        wanted = {k for g in groups for k in getattr(keep, g)}
    shared = {g: {k: v for k, v in getattr(model, g).items() if k in wanted} for g in groups}
    shared["sequences"] |= {k: s for k, s in model.sequences.items() if owned(s)}
    if keep is not None:
        shared["schemas"] = {k: s for k, s in model.schemas.items() if k in keep.schemas}
    else:
        homes = {t.schema for t in tables.values()}
        homes |= needs.schemas(k for group in shared.values() for k in group)
        homes |= {seq.schema for seq in shared["sequences"].values()}
        shared["schemas"] = {k: s for k, s in model.schemas.items() if s.name in homes}
    return shared


def structure_plan(
    source: psycopg.Connection[Any], target: psycopg.Connection[Any], selected: Selector
) -> Plan:
    """The statements that bring the target's selected tables in line with the source."""
    from dbenv.diff.introspect import introspect

    model = introspect(source)
    names = [(unquote(t.schema), unquote(t.name)) for t in model.tables.values()]
    tables = [name for name in names if selected(*name)]
    wanted = narrow(model, selected, needs=needed_objects(source, tables))
    have = narrow(introspect(target), selected, keep=wanted)
    return build_plan(wanted, have)


__all__ = ["narrow", "structure_plan", "unquote"]
