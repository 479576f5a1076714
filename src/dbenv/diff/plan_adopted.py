"""Inherited constraints and indexes that a detach or NO INHERIT leaves on the table.

``DETACH PARTITION`` keeps a partition's copies of its parent's primary key, unique,
exclusion, check and foreign key constraints and of its indexes, now as its own; ``NO
INHERIT`` does the same with check constraints no other parent still provides. The model
keeps inherited ones apart (``SchemaModel.inherited``: the parent's are compared instead),
so without this the plan would never drop or match them and the re-diff would find them.
"""

from __future__ import annotations

from dataclasses import replace

from dbenv.diff.builder import Builder, Phase
from dbenv.diff.model import Constraint, Index, Table


def adopt_inherited(b: Builder) -> None:
    """Add the children the plan's detaches and NO INHERITs leave behind to ``b.target``
    (after ``plan_tables``, which decides them), so they are compared like any other."""
    constraints = dict(b.target.constraints)
    indexes = dict(b.target.indexes)
    for key, child in b.target.inherited.items():
        table_key = f"table:{child.table}"
        old, new = b.target.tables.get(table_key), b.source.tables.get(table_key)
        if old is None or new is None or table_key in b.recreated:
            continue
        if not _left_behind(b, child, old, new):
            continue
        b.adopted.add(key)
        if isinstance(child, Constraint):
            constraints[key] = child
        else:
            indexes[key] = child
    if b.adopted:
        b.target = replace(b.target, constraints=constraints, indexes=indexes)


def _left_behind(b: Builder, child: Constraint | Index, old: Table, new: Table) -> bool:
    if old.partition_of and new.partition_of is None:
        return True
    # Attached to another parent, the partition's matching children go over to the new
    # parent's (and could then not be dropped): left alone, as before.
    if not isinstance(child, Constraint) or child.contype != "c":
        return False
    removed = set(old.inherits) - set(new.inherits)
    if not removed:
        return False
    providers = {
        parent
        for parent in old.inherits
        if f"constraint:{parent}:{child.name}" in b.target.constraints
        or f"constraint:{parent}:{child.name}" in b.target.inherited
    }
    return bool(providers) and providers <= removed and all(_kept(b, p, child) for p in providers)


def _kept(b: Builder, parent: str, child: Constraint) -> bool:
    """Whether the parent's check survives until the NO INHERIT: one the plan drops first
    takes the child's copy along (then the source's, if any, is simply created)."""
    key = f"constraint:{parent}:{child.name}"
    was = b.target.constraints.get(key) or b.target.inherited.get(key)
    now = b.source.constraints.get(key) or b.source.inherited.get(key)
    return was is not None and now is not None and was.definition == now.definition


def drop_sql(b: Builder, key: str, phase: Phase, sql: str) -> tuple[Phase, str]:
    """A drop of an adopted child runs after the detach (PostgreSQL refuses to drop an
    inherited one) and before tables are created: one created as the table's new child
    would be visited by the drop's recursion, which fails where it lacks the constraint."""
    if key not in b.adopted:
        return phase, sql
    # IF EXISTS: the parent's own drop (of its key, index, check), run earlier while the
    # table was still attached, may have taken it along.
    sql = sql.replace(" DROP CONSTRAINT ", " DROP CONSTRAINT IF EXISTS ", 1)
    return Phase.DROP_ADOPTED, sql.replace("DROP INDEX ", "DROP INDEX IF EXISTS ", 1)
