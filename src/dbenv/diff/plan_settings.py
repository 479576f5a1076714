"""Plan the per-column settings that live beside a column's shape.

Statistics targets, storage, compression and attribute options (``n_distinct``)
change no data: each is one ``ALTER TABLE ONLY ... ALTER COLUMN`` without a rewrite.
A table the plan creates starts from the defaults, so that is what is compared.
"""

from __future__ import annotations

from dataclasses import replace

from dbenv.diff.model import Column, Table
from dbenv.diff.plan import Builder, Phase

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
