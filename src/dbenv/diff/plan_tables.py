"""Plan tables and their columns: create, drop, recreate, and every in-place ALTER.

A table is recreated (data loss) only when no ALTER reaches the source's shape:
a different partition key. Column order cannot be changed by ALTER; when the
result's order differs from the source's, the plan carries a note saying so.
One column's SQL and its ALTERs are in ``dbenv.diff.plan_columns``.
"""

from __future__ import annotations

import re

from dbenv.diff.builder import DATA_LOSS, LONG_LOCK, TABLE_REWRITE, Builder, Phase
from dbenv.diff.model import Column, CompositeType, Table
from dbenv.diff.plan_columns import (
    add_column,
    alter_column,
    column_sql,
    drop_column,
    replace_column,
)
from dbenv.diff.plan_objects import composite_kept
from dbenv.diff.plan_partitions import detach_referenced, prepare_attach
from dbenv.diff.plan_recreate import mark_recreated_tables
from dbenv.diff.plan_settings import plan_column_settings, plan_inherited_columns


def create_table_sql(table: Table) -> str:
    unlogged = "UNLOGGED " if table.unlogged else ""
    if table.partition_of:
        sql = f"CREATE {unlogged}TABLE {table.qualified} PARTITION OF {table.partition_of}"
        sql += f" {table.partition_bound}"
    else:
        cols = ",\n    ".join(column_sql(c) for c in table.columns if c.local)
        sql = f"CREATE {unlogged}TABLE {table.qualified} (\n    {cols}\n)"
        if table.inherits:
            sql += f" INHERITS ({', '.join(table.inherits)})"
    if table.partitioned_by:
        sql += f" PARTITION BY {table.partitioned_by}"
    if table.options:
        sql += f" WITH ({', '.join(table.options)})"
    return sql


def _depth(table: Table, tables: dict[str, Table]) -> int:
    """How many parents (partition or inheritance) sit above ``table``."""
    depth, seen = 0, {table.key}
    parents = [table.partition_of, *table.inherits]
    while parents:
        parent = parents.pop()
        key = f"table:{parent}" if parent else None
        if key is None or key in seen or key not in tables:
            continue
        seen.add(key)
        depth += 1
        found = tables[key]
        parents.extend([found.partition_of, *found.inherits])
    return depth


def _drop_early(b: Builder, early: set[str]) -> None:
    """Recreated tables (and their orphans) go before anything is created, children first."""
    target = b.target.tables
    for key in sorted(early, key=lambda k: -_depth(target[k], target)):
        old = target[key]
        for seq in b.target.sequences.values():
            if seq.owned_by and seq.owned_by.startswith(old.qualified + "."):
                sql = f"ALTER SEQUENCE {seq.qualified} OWNED BY NONE"
                b.add(Phase.DROP_REBUILT, sql, target=seq.key)
        sql = f"DROP TABLE {old.qualified}"
        b.add(Phase.DROP_REBUILT, sql, hazard=DATA_LOSS, action="drop", target=key)
        b.broken.add(key)
        b.broken.update(f"column:{old.qualified}.{c.name}" for c in old.columns)


def plan_tables(b: Builder) -> None:
    source, target = b.source.tables, b.target.tables
    orphans = mark_recreated_tables(b)  # again: types add tables keyed on a recreated type
    _drop_early(b, (b.recreated & target.keys()) | orphans)
    for key in sorted(source, key=lambda k: _depth(source[k], source)):
        new = source[key]
        old = target.get(key)
        if old is None or key in b.recreated:
            b.add(Phase.TABLES, create_table_sql(new), action="create", target=key)
            parent = source.get(f"table:{new.partition_of}")
            if parent is not None:  # PARTITION OF takes the parent's column order
                _order_note(b, new, [c.name for c in parent.columns])
            _typed(b, new, None)
            plan_column_settings(b, new, None)
            plan_inherited_columns(b, new, None)
        else:
            _alter_table(b, new, old)
            _typed(b, new, old)
            plan_column_settings(b, new, old)
            plan_inherited_columns(b, new, old)
    late = target.keys() - source.keys() - orphans
    for key in sorted(late, key=lambda k: -_depth(target[k], target)):
        old = target[key]
        b.broken.add(key)
        detach_referenced(b, old)
        b.add(
            Phase.DROP_TABLES,
            f"DROP TABLE {old.qualified}",
            hazard=DATA_LOSS,
            action="drop",
            target=key,
        )


def _typed(b: Builder, new: Table, old: Table | None) -> None:
    """A typed table is made as a plain one and then tied to its type (same columns)."""
    was = old.of_type if old is not None else None
    if was == new.of_type:
        return
    if was is not None:
        b.add(Phase.COLUMNS, f"ALTER TABLE {new.qualified} NOT OF", target=new.key)
    if new.of_type is not None:
        b.add(Phase.COLUMNS, f"ALTER TABLE {new.qualified} OF {new.of_type}", target=new.key)


def _after_type_cascade(b: Builder, new: Table, old: Table) -> Table:
    """A typed table as its type's ALTER ... CASCADE leaves it (columns dropped and added)."""
    if not old.of_type or old.of_type != new.of_type:
        return old
    after = b.source.types.get(f"type:{new.of_type}")
    before = b.target.types.get(f"type:{new.of_type}")
    if not isinstance(after, CompositeType) or not isinstance(before, CompositeType):
        return old
    kept = composite_kept(after, before)
    columns = [c for c in old.columns if c.name in kept or c.name not in dict(before.attributes)]
    for name, dtype in after.attributes:
        if name not in kept:
            columns.append(
                replace_column(_BARE, name=name, position=len(columns) + 1, data_type=dtype)
            )
    return _replace_table(old, columns=tuple(columns))


def _alter_table(b: Builder, new: Table, old: Table) -> None:
    old = _after_type_cascade(b, new, old)
    name = new.qualified
    if new.unlogged != old.unlogged:
        sql = f"ALTER TABLE {name} SET {'UNLOGGED' if new.unlogged else 'LOGGED'}"
        b.add(Phase.COLUMNS, sql, hazard=TABLE_REWRITE, target=new.key)
    _alter_options(b, new, old)
    _alter_parents(b, new, old)
    if not new.partition_of:
        _alter_columns(b, new, old)
    else:  # a partition's columns follow its parent's, appended at the end
        kept = [c.name for c in old.columns if new.column(c.name) is not None]
        result = kept + [c.name for c in new.columns if old.column(c.name) is None]
        _order_note(b, new, result)


def _alter_options(b: Builder, new: Table, old: Table) -> None:
    before = dict(o.split("=", 1) for o in old.options)
    after = dict(o.split("=", 1) for o in new.options)
    reset = sorted(before.keys() - after.keys())
    if reset:
        b.add(
            Phase.COLUMNS, f"ALTER TABLE {new.qualified} RESET ({', '.join(reset)})", target=new.key
        )
    changed = [f"{k}={v}" for k, v in after.items() if before.get(k) != v]
    if changed:
        b.add(
            Phase.COLUMNS, f"ALTER TABLE {new.qualified} SET ({', '.join(changed)})", target=new.key
        )


def _alter_parents(b: Builder, new: Table, old: Table) -> None:
    name = new.qualified
    if set(new.inherits) == set(old.inherits) and new.inherits != old.inherits:
        b.notes.append(
            f"parents of {name} will be ({', '.join(old.inherits)}) instead of "
            f"({', '.join(new.inherits)}); re-inheriting in order would make inherited "
            "columns local, so the order is left as it is"
        )
    # Leaving a parent goes first: the parent's column changes would otherwise recurse into
    # the table, which then keeps what the parent became rather than what it was.
    for parent in old.inherits:
        if parent not in new.inherits:
            b.add(Phase.DETACH, f"ALTER TABLE {name} NO INHERIT {parent}", target=new.key)
    for parent in new.inherits:
        if parent not in old.inherits:
            b.add(
                Phase.COLUMNS,
                f"ALTER TABLE {name} INHERIT {parent}",
                hazard=LONG_LOCK,
                target=new.key,
            )
    if (old.partition_of, old.partition_bound) == (new.partition_of, new.partition_bound):
        return
    if old.partition_of:
        # Attached again (new bounds, another parent): after the old parent's changes, which
        # the table must then have; for good, first, as for NO INHERIT.
        sql = f"ALTER TABLE {old.partition_of} DETACH PARTITION {name}"
        b.add(Phase.COLUMNS if new.partition_of else Phase.DETACH, sql, target=new.key)
    if new.partition_of:
        prepare_attach(b, new, old)
        sql = f"ALTER TABLE {new.partition_of} ATTACH PARTITION {name} {new.partition_bound}"
        b.add(Phase.COLUMNS, sql, hazard=LONG_LOCK, target=new.key)


def _adopted_columns(b: Builder, new: Table, old: Table) -> set[str]:
    """Inherited columns this plan's DETACH or NO INHERIT makes the table's own: all of a
    detached partition's, and a child's that no remaining parent has."""
    inherited = {c.name for c in old.columns if not c.local}
    if old.partition_of and new.partition_of is None:
        return inherited
    kept = [b.target.tables.get(f"table:{p}") for p in old.inherits if p in new.inherits]
    if len(kept) == len(old.inherits):
        return set()
    return {n for n in inherited if not any(t is None or t.column(n) for t in kept)}


def _alter_columns(b: Builder, new: Table, old: Table) -> None:
    name = new.qualified
    adopted = _adopted_columns(b, new, old)
    columns = (replace_column(c, local=True) if c.name in adopted else c for c in old.columns)
    old = _replace_table(old, columns=tuple(columns))
    before = {c.name: c for c in old.columns if c.local}
    after = {c.name: c for c in new.columns if c.local}
    inherited = {c.name for c in old.columns if not c.local}
    moved: list[str] = []
    regenerated = _generated_over_retyped(before, after)
    for regen in regenerated:
        drop_column(b, name, before[regen], hazard=TABLE_REWRITE)
    for regen in _generated_over_broken_functions(b, name, before, after):
        if regen not in regenerated:
            # Before the function it calls is dropped (which the column would block).
            drop_column(b, name, before[regen], hazard=TABLE_REWRITE, phase=Phase.DROP_CONSTRAINTS)
            regenerated.append(regen)
    # Generated expressions and dropped columns go first: a retype below is refused while a
    # generated column uses the column, and so is the drop of a column one still uses.
    _drop_expressions(b, new, before, skip=inherited | set(regenerated))
    _drop_gone_columns(b, new, old, adopted)
    for col in new.columns:
        if col.name in inherited or not col.local:
            continue
        prior = None if col.name in regenerated else before.get(col.name)
        if prior is not None and prior.generated is not None and col.generated != prior.generated:
            drop_column(b, name, prior, hazard=TABLE_REWRITE)
            prior = None
        elif prior is not None and col.generated is not None and prior.generated is None:
            drop_column(b, name, prior, hazard=DATA_LOSS)
            prior = None
        if prior is None:
            moved.append(col.name)
        else:
            alter_column(b, name, col, prior)
    _add_columns(b, name, [after[n] for n in moved])
    moved.sort(key=lambda n: after[n].generated is not None)
    _note_order(b, new, old, moved)


def _add_columns(b: Builder, table: str, columns: list[Column]) -> None:
    """After the retypes (a new generated column may use a retyped one), generated ones last
    (one may use another new column)."""
    for col in sorted(columns, key=lambda c: c.generated is not None):
        add_column(b, table, col)


def _drop_expressions(b: Builder, new: Table, before: dict[str, Column], skip: set[str]) -> None:
    """DROP EXPRESSION of columns that stay as plain ones (``before`` is updated)."""
    for col in new.columns:
        prior = before.get(col.name)
        if prior is None or col.name in skip or not col.local:
            continue
        if prior.generated is not None and col.generated is None:
            sql = f"ALTER TABLE {new.qualified} ALTER COLUMN {col.name} DROP EXPRESSION"
            b.add(Phase.COLUMNS, sql, target=f"column:{new.qualified}.{col.name}")
            before[col.name] = replace_column(prior, generated=None)


def _drop_gone_columns(b: Builder, new: Table, old: Table, adopted: set[str]) -> None:
    """DROP COLUMN of the columns the source lacks, generated ones first: a generated
    column blocks the drop of a column its expression uses."""
    gone = [c for c in old.columns if c.name not in _all_names(new) and c.local]
    for col in sorted(gone, key=lambda c: c.generated is None):
        # An adopted column (detach, NO INHERIT) may already be gone with the parent's
        # DROP COLUMN, which recursed before the detach (the tables' order decides).
        if_exists = col.name in adopted
        drop_column(b, new.qualified, col, hazard=DATA_LOSS, if_exists=if_exists)


def _generated_over_retyped(before: dict[str, Column], after: dict[str, Column]) -> list[str]:
    """Generated columns (kept as such) over a column being retyped: PostgreSQL refuses the
    ALTER TYPE while they exist, so they are dropped first and added back."""
    retyped = [
        name
        for name, col in after.items()
        if name in before
        and (col.data_type, col.collation) != (before[name].data_type, before[name].collation)
    ]
    out = []
    for name, col in before.items():
        expr = col.generated
        wanted = after.get(name)
        if expr is None or wanted is None or wanted.generated is None:
            continue
        if any(re.search(rf"(?<![\w\"]){re.escape(r)}(?![\w\"])", expr) for r in retyped):
            out.append(name)
    return out


def _generated_over_broken_functions(
    b: Builder, table: str, before: dict[str, Column], after: dict[str, Column]
) -> list[str]:
    """Generated columns (kept as such) calling a function this plan drops and creates."""
    return [
        name
        for name, col in before.items()
        if col.generated is not None
        and name in after
        and after[name].generated is not None
        and b.target.function_users.get(f"column:{table}.{name}", frozenset()) & b.broken
    ]


def _all_names(table: Table) -> set[str]:
    return {c.name for c in table.columns}


def _replace_table(table: Table, **changes: object) -> Table:
    from dataclasses import replace

    return replace(table, **changes)  # type: ignore[arg-type]


_BARE = Column(
    name="",
    position=0,
    data_type="",
    collation=None,
    not_null=False,
    default=None,
    identity=None,
    generated=None,
    comment=None,
)


def _note_order(b: Builder, new: Table, old: Table, moved: list[str]) -> None:
    dropped = {c.name for c in old.columns} - _all_names(new)
    result = [c.name for c in old.columns if c.name not in dropped and c.name not in moved]
    _order_note(b, new, result + moved)


def _order_note(b: Builder, new: Table, result: list[str]) -> None:
    wanted = [c.name for c in new.columns]
    if result != wanted:
        b.notes.append(
            f"column order of {new.qualified} will be ({', '.join(result)}) instead of "
            f"({', '.join(wanted)}); no ALTER can reorder columns"
        )
