"""``where`` subsets that stay consistent: a filtered table keeps the FK parents its
mirrored children need.

A table without a filter keeps every row. A filtered table keeps the rows its own
condition selects *plus* every row a kept row of a mirrored child references, so
re-created foreign keys always validate. The conditions are SQL over the source
table (alias ``t``), evaluated inside the source snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dbenv.errors import UsageError
from dbenv.sync.catalog import TableInfo, quote

if TYPE_CHECKING:
    import psycopg


def conditions(
    tables: Mapping[tuple[str, str], TableInfo], where: Mapping[str, str]
) -> dict[tuple[str, str], str]:
    """The effective WHERE condition of every filtered mirrored table."""
    for label in where:
        schema, _, name = label.partition(".")
        if (schema, name) not in tables:
            raise UsageError(
                f"the where filter names '{label}', which is not a mirrored table of this sync.",
                hint="Filter only tables the profile mirrors (check the spelling).",
            )
    children: dict[tuple[str, str], list[tuple[TableInfo, int]]] = {}
    for info in tables.values():
        for index, fk in enumerate(info.foreign_keys):
            if fk.parent in tables and fk.parent != info.key:
                children.setdefault(fk.parent, []).append((info, index))
    result: dict[tuple[str, str], str] = {}
    for key in tables:
        cond = _condition(key, tables, where, children, ())
        if cond is not None:
            result[key] = cond
    return result


def _condition(
    key: tuple[str, str],
    tables: Mapping[tuple[str, str], TableInfo],
    where: Mapping[str, str],
    children: Mapping[tuple[str, str], list[tuple[TableInfo, int]]],
    path: tuple[tuple[str, str], ...],
) -> str | None:
    own = where.get(f"{key[0]}.{key[1]}")
    if own is None:
        return None  # every row kept: all parents any child needs are there
    if key in path:
        chain = " -> ".join(f"{s}.{n}" for s, n in (*path, key))
        raise UsageError(
            f"where filters on a foreign-key cycle cannot be made consistent: {chain}.",
            hint="Drop the where filter on one table of the cycle.",
        )
    info = tables[key]
    for fk in info.foreign_keys:
        if fk.parent == key:
            raise UsageError(
                f"a where filter on {info.label}, which references itself ({fk.name}),"
                " cannot pull in its parent rows.",
                hint="Mirror that table whole (drop its where filter).",
            )
    parts = [f"({own})"]
    for child, index in children.get(key, []):
        fk = child.foreign_keys[index]
        inner = _condition(child.key, tables, where, children, (*path, key))
        mine = ", ".join(f"t.{quote(c)}" for c in fk.parent_columns)
        # the subquery re-uses alias t for the child: the left side stays the parent's
        theirs = ", ".join(f"t.{quote(c)}" for c in fk.columns)
        filtered = f" WHERE {inner}" if inner else ""
        parts.append(f"({mine}) IN (SELECT {theirs} FROM {child.sql} t{filtered})")
    return " OR ".join(parts)


def check_conditions(
    conn: psycopg.Connection[Any], mirrored: Sequence[TableInfo], where: Mapping[str, str]
) -> None:
    """Each filter is a valid boolean over its table (planned on the source, read only)."""
    from dbenv.backends import postgres

    for info in mirrored:
        condition = where.get(info.label)
        if condition is None:
            continue
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION READ ONLY")
                conn.execute(f"EXPLAIN SELECT 1 FROM {info.sql} t WHERE ({condition})".encode())
        except Exception as exc:
            reason = postgres.error_message(exc)
            if reason is None:
                raise
            raise UsageError(
                f"the where filter on {info.label} is not a valid condition: {reason}.",
                hint="Write one SQL boolean expression over that table's columns"
                ' (e.g. "id <= 1000").',
            ) from exc
