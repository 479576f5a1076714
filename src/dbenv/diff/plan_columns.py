"""Plan one column: its SQL in CREATE TABLE, ADD, DROP, and every in-place ALTER of it.

A type change is an ALTER ... TYPE (with USING when needed), labelled a table
rewrite unless it is a widening PostgreSQL applies without one; identity changes
are ALTERs of the identity and its sequence. Split from
``dbenv.diff.plan_tables``, which walks a table's columns and calls these.
"""

from __future__ import annotations

import re

from dbenv.diff.builder import DATA_LOSS, LONG_LOCK, NO_HAZARD, TABLE_REWRITE, Builder, Phase
from dbenv.diff.casts import castable
from dbenv.diff.model import Column, Identity

_VOLATILE = ("nextval(", "random(", "gen_random_uuid(", "uuid_generate", "clock_timestamp(")


def identity_clause(ident: Identity) -> str:
    kind = "ALWAYS" if ident.always else "BY DEFAULT"
    return f"GENERATED {kind} AS IDENTITY ({_identity_options(ident)})"


def _identity_options(ident: Identity) -> str:
    cycle = "CYCLE" if ident.cycle else "NO CYCLE"
    return (
        f"SEQUENCE NAME {ident.sequence} START WITH {ident.start} "
        f"INCREMENT BY {ident.increment} MINVALUE {ident.minvalue} "
        f"MAXVALUE {ident.maxvalue} CACHE {ident.cache} {cycle}"
    )


def column_sql(col: Column) -> str:
    sql = f"{col.name} {col.data_type}"
    if col.collation:
        sql += f" COLLATE {col.collation}"
    if col.generated is not None:
        sql += f" GENERATED ALWAYS AS ({col.generated}) STORED"
    if col.default is not None:
        sql += f" DEFAULT {col.default}"
    if col.not_null:
        sql += " NOT NULL"
    if col.identity is not None:
        sql += " " + identity_clause(col.identity)
    return sql


def replace_column(col: Column, **changes: object) -> Column:
    from dataclasses import replace

    return replace(col, **changes)  # type: ignore[arg-type]


def add_column(b: Builder, table: str, col: Column) -> None:
    volatile = col.generated is not None or col.identity is not None
    volatile = volatile or any(v in (col.default or "") for v in _VOLATILE)
    hazard = TABLE_REWRITE if volatile else NO_HAZARD
    key = f"column:{table}.{col.name}"
    identity = col.identity
    if identity is not None and _has_children(b, table):
        # "cannot recursively add identity column to table that has child tables": the
        # column goes to every child, the identity (never inherited) to the table alone.
        col = replace_column(col, identity=None, not_null=True)
    sql = f"ALTER TABLE {table} ADD COLUMN {column_sql(col)}"
    b.add(Phase.COLUMNS, sql, hazard=hazard, action="create", target=key)
    if identity is not None and col.identity is None:
        sql = f"ALTER TABLE {table} ALTER COLUMN {col.name} ADD {identity_clause(identity)}"
        b.add(Phase.COLUMNS, sql, target=key)


def _has_children(b: Builder, table: str) -> bool:
    """Whether ``table`` has partitions or children when its columns change (the target's
    that stay, or the source's, which exist by then)."""
    tables = [*b.target.tables.values(), *b.source.tables.values()]
    return any(t.partition_of == table or table in t.inherits for t in tables)


def drop_column(
    b: Builder,
    table: str,
    col: Column,
    *,
    hazard: str,
    phase: Phase = Phase.COLUMNS,
    if_exists: bool = False,
) -> None:
    key = f"column:{table}.{col.name}"
    b.broken.add(key)
    b.add(
        phase,
        f"ALTER TABLE {table} DROP COLUMN {'IF EXISTS ' if if_exists else ''}{col.name}",
        hazard=hazard,
        action="drop",
        target=key,
    )


def _using(b: Builder, col: Column, prior: Column) -> str:
    # User types (schema-qualified) such as enums only cast to other types via text, and so
    # do types with no cast between them (through their text form, as far as values parse).
    base = prior.data_type.split("[")[0]
    user = "." in base or base.endswith("range")
    via = (
        "::text" if user or not castable(b.target, b.source, prior.data_type, col.data_type) else ""
    )
    if via and prior.data_type.endswith("[]") and col.data_type.endswith("[]"):
        via = "::text[]"
    return f"{col.name}{via}::{col.data_type}"


_LENGTH = re.compile(r"^(character varying|numeric|bit varying)(?:\((\d+)(?:,(\d+))?\))?$")


def _rewrites(prior: Column, col: Column) -> bool:
    """False for the binary-coercible widenings PostgreSQL applies without a rewrite."""
    if prior.collation != col.collation:
        return True
    old, new = prior.data_type, col.data_type
    if new == "text" and _LENGTH.match(old) and old.startswith("character varying"):
        return False
    before, after = _LENGTH.match(old), _LENGTH.match(new)
    if not before or not after or before.group(1) != after.group(1):
        return True
    if after.group(2) is None:  # to unconstrained
        return False
    if before.group(2) is None:
        return True
    scale_same = (before.group(3) or "0") == (after.group(3) or "0")
    return not (int(after.group(2)) >= int(before.group(2)) and scale_same)


def alter_column(b: Builder, table: str, col: Column, prior: Column) -> None:
    key = f"column:{table}.{col.name}"
    alter = f"ALTER TABLE {table} ALTER COLUMN {col.name}"
    retype = (col.data_type, col.collation) != (prior.data_type, prior.collation)
    default_gone = key in b.fresh_defaults
    if prior.default is not None and (
        (retype and prior.default is not None) or (col.identity and not prior.identity)
    ):
        b.add(Phase.COLUMNS, f"{alter} DROP DEFAULT", target=key)
        default_gone = True
    if prior.identity and not col.identity:
        # Early: the source may create a sequence under the identity's sequence name.
        b.add(Phase.DROP_REBUILT, f"{alter} DROP IDENTITY", target=key)
    if retype:
        b.broken.add(key)
        collate = f" COLLATE {col.collation}" if col.collation else ""
        sql = f"{alter} TYPE {col.data_type}{collate} USING {_using(b, col, prior)}"
        hazard = TABLE_REWRITE if _rewrites(prior, col) else NO_HAZARD
        b.add(Phase.COLUMNS, sql, hazard=hazard, target=key)
    if col.not_null != prior.not_null:
        change, hazard = ("SET NOT NULL", LONG_LOCK) if col.not_null else ("DROP NOT NULL", "none")
        b.add(Phase.COLUMNS, f"{alter} {change}", hazard=hazard, target=key)
    current_default = None if default_gone else prior.default
    if col.default != current_default:
        change = "DROP DEFAULT" if col.default is None else f"SET DEFAULT {col.default}"
        b.add(Phase.COLUMNS, f"{alter} {change}", target=key)
    _alter_identity(b, alter, key, col.identity, prior.identity)


def _alter_identity(
    b: Builder, alter: str, key: str, new: Identity | None, old: Identity | None
) -> None:
    if new is None:
        return
    if old is None:
        taken = b.target.sequences.get(f"sequence:{new.sequence}")
        if taken is not None and taken.key not in b.source.sequences:
            # A serial's sequence often has the name the identity's wants: free it first.
            sql = f"DROP SEQUENCE IF EXISTS {taken.qualified}"
            b.add(Phase.COLUMNS, sql, hazard=DATA_LOSS, action="drop", target=taken.key)
        b.add(Phase.COLUMNS, f"{alter} ADD {identity_clause(new)}", target=key)
        return
    if new.sequence != old.sequence:
        _move_identity_sequence(b, key, old.sequence, new.sequence)
    if new.always != old.always:
        kind = "ALWAYS" if new.always else "BY DEFAULT"
        b.add(Phase.COLUMNS, f"{alter} SET GENERATED {kind}", target=key)
    if _identity_options(new).split(" START")[1] != _identity_options(old).split(" START")[1]:
        cycle = "CYCLE" if new.cycle else "NO CYCLE"
        sql = (
            f"{alter} SET INCREMENT BY {new.increment} SET MINVALUE {new.minvalue} "
            f"SET MAXVALUE {new.maxvalue} SET START WITH {new.start} SET CACHE {new.cache} "
            f"SET {cycle}"
        )
        hazard = NO_HAZARD
        if new.minvalue > old.minvalue or new.maxvalue < old.maxvalue:
            # As for sequences: the current value may fall outside the narrowed bounds.
            sql += " RESTART"
            hazard = DATA_LOSS
        b.add(Phase.COLUMNS, sql, hazard=hazard, target=key)


def split_qualified(name: str) -> tuple[str, str]:
    """``schema.name`` (each part maybe quoted, with dots inside quotes) as its two parts."""
    quoted = False
    for i, char in enumerate(name):
        if char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            return name[:i], name[i + 1 :]
    return "", name


def _move_identity_sequence(b: Builder, key: str, old: str, new: str) -> None:
    """An identity's sequence is renamed (and moved) in place; its values are kept."""
    old_schema, old_name = split_qualified(old)
    new_schema, new_name = split_qualified(new)
    current = old
    if old_schema != new_schema:
        b.add(Phase.COLUMNS, f"ALTER SEQUENCE {current} SET SCHEMA {new_schema}", target=key)
        current = f"{new_schema}.{old_name}"
    if old_name != new_name:
        b.add(Phase.COLUMNS, f"ALTER SEQUENCE {current} RENAME TO {new_name}", target=key)
