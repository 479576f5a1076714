"""What attaching or dropping a partition needs beyond the ATTACH/DROP itself.

``ATTACH PARTITION`` refuses a table that lacks one of the parent's CHECK constraints or
the NOT NULL of one of its columns: those the parent has when the ATTACH runs are added to
the table first (attached, they become the partition's inherited ones, as the source has).
"""

from __future__ import annotations

from dbenv.diff.builder import LONG_LOCK, Builder, Phase
from dbenv.diff.model import Constraint, Table


def prepare_attach(b: Builder, new: Table, old: Table) -> None:
    """Before ``new`` (``old`` in the target) is attached to its source parent."""
    parent = b.source.tables.get(f"table:{new.partition_of}")
    if parent is None:
        return
    # The parent's column changes run before the ATTACH: its NOT NULLs are the source's.
    for col in parent.columns:
        mine = old.column(col.name)
        if col.not_null and mine is not None and not mine.not_null:
            sql = f"ALTER TABLE {new.qualified} ALTER COLUMN {col.name} SET NOT NULL"
            b.add(Phase.COLUMNS, sql, hazard=LONG_LOCK, target=f"column:{new.qualified}.{col.name}")
    for check in _checks_at_attach(b, parent.qualified):
        own = b.target.constraints.get(f"constraint:{new.qualified}:{check.name}")
        kept = b.source.constraints.get(f"constraint:{new.qualified}:{check.name}")
        if own is not None and kept is not None and own.definition == kept.definition:
            continue  # the table's own, kept as it is (and matching, or ATTACH says so)
        sql = f"ALTER TABLE {new.qualified} ADD CONSTRAINT {check.name} {check.definition}"
        b.add(
            Phase.COLUMNS, sql, hazard=LONG_LOCK, target=f"constraint:{new.qualified}:{check.name}"
        )


def _checks_at_attach(b: Builder, parent: str) -> list[Constraint]:
    """The parent's checks that the plan neither drops nor adds before the ATTACH: in both
    models alike (new and changed ones are added after, and reach the partition then)."""
    found = []
    for source, target in (
        (b.source.constraints, b.target.constraints),
        (b.source.inherited, b.target.inherited),
    ):
        for key, con in source.items():
            was = target.get(key)
            if not isinstance(con, Constraint) or con.table != parent or con.contype != "c":
                continue
            if f"table:{parent}" in b.recreated or key in b.recreated:
                continue
            if was is not None and was.definition == con.definition:
                found.append(con)
    return found


def detach_referenced(b: Builder, old: Table) -> None:
    """A partition of a table a foreign key references carries that key's clone: DROP TABLE
    is refused while it does, DETACH removes it (after checking no row refers to it)."""
    ancestors, parent = set(), old.partition_of
    while parent is not None and f"table:{parent}" in b.target.tables:
        ancestors.add(parent)
        parent = b.target.tables[f"table:{parent}"].partition_of
    if old.partition_of is None or f"table:{old.partition_of}" not in b.source.tables:
        return  # the parent goes too, or it is not a partition
    if any(c.contype == "f" and c.ref_table in ancestors for c in b.target.constraints.values()):
        sql = f"ALTER TABLE {old.partition_of} DETACH PARTITION {old.qualified}"
        b.add(Phase.DROP_TABLES, sql, target=old.key)
