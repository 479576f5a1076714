"""Which tables the plan drops and creates again, decided before anything is planned.

No ALTER reaches a changed partition key (or a key column's type or collation), a new
inheritance parent (its columns would stay local), or a partition moved to a parent of
another shape: such a table is recreated (data loss), its partitions and children with it.
Types are planned before tables, and must not convert columns of tables dropped first.
"""

from __future__ import annotations

import re

from dbenv.diff.builder import Builder
from dbenv.diff.model import Table


def _needs_recreate(new: Table, old: Table) -> bool:
    # A new parent's columns would stay local if added by ALTER: recreate to inherit them.
    new_parent = bool(set(new.inherits) - set(old.inherits))
    return new.partitioned_by != old.partitioned_by or new_parent or _reshaped_partition(new, old)


def _reshaped_partition(new: Table, old: Table) -> bool:
    """A table attached to another parent whose columns it does not have: ATTACH refuses
    a partition whose columns differ from the parent's, and the partition's columns cannot
    be altered on their own (they follow the parent), so it is created again."""
    if new.partition_of is None or new.partition_of == old.partition_of:
        return False

    def shape(table: Table) -> set[tuple[str, str, str | None]]:
        return {(c.name, c.data_type, c.collation) for c in table.columns}

    return shape(new) != shape(old)


def mark_recreated_tables(b: Builder) -> set[str]:
    """Add the tables the plan drops and creates again to ``b.recreated`` (their partitions
    and children too); returns those of them the source lacks. Run before types are planned
    too: a type's recreation must not convert the columns of a table dropped before it."""
    for key, new in b.source.tables.items():
        old = b.target.tables.get(key)
        if old is None or key in b.recreated:
            continue
        changed = _key_columns_changed(new, old)
        if changed:
            b.notes.append(
                f"table {new.qualified} is dropped and created again (its rows are lost): "
                f"its partition key column {', '.join(changed)} changes type or collation, "
                "which PostgreSQL cannot alter"
            )
        if changed or _needs_recreate(new, old):
            b.recreated.add(key)
    return _spread_recreation(b) | _children_of_attached(b)


def _children_of_attached(b: Builder) -> set[str]:
    """Inheritance children the source lacks of a table it makes a partition: ATTACH refuses
    an inheritance parent, so they are dropped early rather than last."""
    attached = {
        new.qualified
        for key, new in b.source.tables.items()
        if new.partition_of
        and key in b.target.tables
        and b.target.tables[key].partition_of != new.partition_of
    }
    return {
        key
        for key, old in b.target.tables.items()
        if key not in b.source.tables and set(old.inherits) & attached
    }


def _key_columns_changed(new: Table, old: Table) -> list[str]:
    """Partition key columns whose type or collation differ (no ALTER reaches them)."""
    if not new.partitioned_by or new.partitioned_by != old.partitioned_by:
        return []
    changed = []
    for col in new.columns:
        was = old.column(col.name)
        if was is None or (was.data_type, was.collation) == (col.data_type, col.collation):
            continue
        if re.search(rf"(?<![\w\"]){re.escape(col.name)}(?![\w\"])", new.partitioned_by):
            changed.append(col.name)
    return changed


def _spread_recreation(b: Builder) -> set[str]:
    """Partitions and children of a recreated table go with it; returns those the source
    does not have (dropped early, with their parent, rather than at the end)."""
    orphans: set[str] = set()
    changed = True
    while changed:
        changed = False
        gone = b.recreated | orphans
        names = {b.target.tables[k].qualified for k in gone if k in b.target.tables}
        for key, old in b.target.tables.items():
            parents = {old.partition_of, *old.inherits}
            if key in gone or not parents & names:
                continue
            (b.recreated if key in b.source.tables else orphans).add(key)
            changed = True
    return orphans
