"""Plan the per-column settings that live beside a column's shape, and inherited columns.

Statistics targets, storage, compression and attribute options (``n_distinct``)
change no data: each is one ``ALTER TABLE ONLY ... ALTER COLUMN`` without a rewrite.
A table the plan creates starts from the defaults, so that is what is compared.
"""

from __future__ import annotations

from dataclasses import replace

from dbenv.diff.builder import LONG_LOCK, NO_HAZARD, Builder, Phase
from dbenv.diff.model import Column, Table

_STORAGE = {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"}
_COMPRESSION = {"p": "pglz", "l": "lz4"}


def plan_column_settings(b: Builder, new: Table, old: Table | None) -> None:
    before = {c.name: c for c in old.columns} if old is not None else {}
    for col in new.columns:
        prior = before.get(col.name)
        key = f"column:{new.qualified}.{col.name}"
        if prior is not None and key in b.broken:
            if any(s.target == key and s.action == "drop" for s in b.statements):
                prior = None  # dropped and added again
            else:
                prior = replace(prior, storage=None)  # a new type brings its own storage
        if prior is None:
            prior = Column(
                name=col.name,
                position=col.position,
                data_type=col.data_type,
                collation=None,
                not_null=False,
                default=None,
                identity=None,
                generated=None,
                comment=None,
            )
        for change in _changes(col, prior):
            sql = f"ALTER TABLE ONLY {new.qualified} ALTER COLUMN {col.name} {change}"
            b.add(Phase.COLUMNS, sql, target=key)


def _changes(col: Column, prior: Column) -> list[str]:
    out = []
    if col.statistics != prior.statistics:
        out.append(f"SET STATISTICS {col.statistics}")
    if col.storage != prior.storage:
        out.append(f"SET STORAGE {_STORAGE[col.storage or col.type_storage]}")
    if col.compression != prior.compression:
        out.append(f"SET COMPRESSION {_COMPRESSION.get(col.compression or '', 'default')}")
    before = dict(o.split("=", 1) for o in prior.options)
    after = dict(o.split("=", 1) for o in col.options)
    reset = sorted(before.keys() - after.keys())
    if reset:
        out.append(f"RESET ({', '.join(reset)})")
    changed = [f"{k}={v}" for k, v in after.items() if before.get(k) != v]
    if changed:
        out.append(f"SET ({', '.join(changed)})")
    return out


def plan_inherited_columns(b: Builder, new: Table, old: Table | None) -> None:
    """Defaults and NOT NULL of a partition's or child's inherited columns.

    A new child copies them from its parent, and the parent's own ALTER COLUMN
    (run before this, without ONLY) reaches its children: what is set here is the
    difference from that, with ONLY.
    """
    parent_name = new.partition_of or (new.inherits[0] if new.inherits else None)
    if parent_name is None:
        return
    parent_key = f"table:{parent_name}"
    parent = b.source.tables.get(parent_key)
    parent_before = None if parent_key in b.recreated else b.target.tables.get(parent_key)
    if parent is None:
        return
    for col in new.columns:
        prior = old.column(col.name) if old is not None else None
        if col.local and not new.partition_of and (prior is None or prior.local):
            continue  # a column of its own: planned with the table's columns
        from_parent = parent.column(col.name)
        was_parent = parent_before.column(col.name) if parent_before is not None else None
        if from_parent is None:
            continue
        key = f"column:{new.qualified}.{col.name}"
        recursed = _recursed(b, parent.qualified, col.name, old)
        default = _default_after(b, key, prior, was_parent, from_parent, recursed)
        not_null = prior.not_null if prior else False
        if prior is None or was_parent is None or was_parent.not_null != from_parent.not_null:
            not_null = from_parent.not_null
        alter = f"ALTER TABLE ONLY {new.qualified} ALTER COLUMN {col.name}"
        if col.default != default:
            change = "DROP DEFAULT" if col.default is None else f"SET DEFAULT {col.default}"
            b.add(Phase.COLUMNS, f"{alter} {change}", target=key)
        if col.not_null != not_null:
            change = "SET NOT NULL" if col.not_null else "DROP NOT NULL"
            b.add(Phase.COLUMNS, f"{alter} {change}", hazard=_lock(col.not_null), target=key)


def _default_after(
    b: Builder,
    key: str,
    prior: Column | None,
    was_parent: Column | None,
    from_parent: Column,
    recursed: bool,
) -> str | None:
    """The default an inherited column has once the parent's changes have recursed to it."""
    default = prior.default if prior else None
    if key in b.fresh_defaults:  # dropped for a type's recreation, before the attach
        default = None
    if prior is None or was_parent is None or was_parent.default != from_parent.default or recursed:
        default = from_parent.default
    return default


def _recursed(b: Builder, parent: str, column: str, old: Table | None) -> bool:
    """Whether the parent's DROP DEFAULT and SET DEFAULT (a type's recreation) reached this
    table's column: they recurse to whatever is its child then, wiping its own default."""
    if f"column:{parent}.{column}" not in b.fresh_defaults or old is None:
        return False
    return old.partition_of == parent or parent in old.inherits


def _lock(not_null: bool) -> str:
    return LONG_LOCK if not_null else NO_HAZARD
