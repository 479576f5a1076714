"""Replacing the target's mirrored tables inside the caller's transaction.

Foreign keys that touch the replaced set (in either direction) and its plain
secondary indexes are dropped, the set is emptied with one ``TRUNCATE`` naming
exactly those tables (never ``CASCADE``), rows are loaded, then the indexes are
built again and the foreign keys re-added — which validates them, so a row that
references something the sync did not bring fails the whole transaction and the
target stays as it was. Sequences are set to the source's values at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.errors import OperationError
from dbenv.sync.catalog import TableInfo

if TYPE_CHECKING:
    import psycopg

_FKS = """
SELECT k.conname, k.conrelid::regclass::text, pg_get_constraintdef(k.oid)
FROM pg_constraint k
WHERE k.contype = 'f' AND k.conparentid = 0
  AND (k.conrelid = ANY(%(oids)s) OR k.confrelid = ANY(%(oids)s))
ORDER BY 2, 1
"""

_KEYS = """
SELECT k.conname, k.conrelid::regclass::text, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE k.contype IN ('p', 'u', 'x') AND k.conparentid = 0 AND c.relkind = 'r'
  AND k.conrelid = ANY(%(oids)s)
ORDER BY 2, 1
"""

_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
WHERE i.indrelid = ANY(%(oids)s) AND c.relkind = 'r' AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
ORDER BY 1
"""


@dataclass(frozen=True)
class Deferred:
    """DDL taken off the replaced tables for the load, and how to put it back."""

    keys: tuple[str, ...]  # primary/unique/exclusion constraints, re-added first
    indexes: tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...]  # (table, name, create statement)


def prepare(conn: psycopg.Connection[Any], tables: list[TableInfo]) -> Deferred:
    """Drop FKs, keys and plain indexes of the set and empty it (in the open transaction).

    Loading into bare tables and building each index once at the end (a sort) is
    several times faster than maintaining them row by row. A key that something
    else depends on (rare: a view grouping by it) stays, in a savepoint.
    """
    oids = _oids(conn, tables)
    fks = conn.execute(_FKS, {"oids": oids}).fetchall()
    for name, rel, _ in fks:
        conn.execute(f'ALTER TABLE {rel} DROP CONSTRAINT "{name}"'.encode())
    keys = []
    for name, rel, definition in conn.execute(_KEYS, {"oids": oids}).fetchall():
        try:
            with conn.transaction():
                conn.execute(f'ALTER TABLE {rel} DROP CONSTRAINT "{name}"'.encode())
        except Exception as exc:
            if postgres.error_message(exc) is None:
                raise
            continue
        keys.append(f'ALTER TABLE {rel} ADD CONSTRAINT "{name}" {definition}')
    indexes = conn.execute(_INDEXES, {"oids": oids}).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}".encode())
    if tables:
        conn.execute(("TRUNCATE " + ", ".join(t.sql for t in tables)).encode())
    return Deferred(
        keys=tuple(keys),
        indexes=tuple(str(d) for _, d in indexes),
        foreign_keys=tuple(
            (str(rel), str(name), f'ALTER TABLE {rel} ADD CONSTRAINT "{name}" {definition}')
            for name, rel, definition in fks
        ),
    )


def finish(conn: psycopg.Connection[Any], deferred: Deferred) -> None:
    """Build keys and indexes again and re-add (so validate) the foreign keys."""
    for statement in (*deferred.keys, *deferred.indexes):
        try:
            with conn.transaction():
                conn.execute(statement.encode())
        except Exception as exc:
            reason = postgres.error_message(exc)
            if reason is None:
                raise
            raise OperationError(
                f"after the copy, rebuilding '{statement[:80]}' failed: {reason}; the target"
                " was left as it was.",
                hint="A masking rule may have made a unique column repeat: use a unique rule.",
            ) from None
    for table, name, statement in deferred.foreign_keys:
        try:
            with conn.transaction():
                conn.execute(statement.encode())
        except Exception as exc:
            reason = postgres.error_message(exc)
            if reason is None:
                raise
            raise OperationError(
                f"after the copy, foreign key {name} on {table} does not hold: {reason};"
                " the target was left as it was.",
                hint="Mirror the referenced table too, or narrow the where filter so the"
                " rows it keeps have their parents.",
            ) from None


def _oids(conn: psycopg.Connection[Any], tables: list[TableInfo]) -> list[int]:
    oids = []
    for info in tables:
        row = conn.execute("SELECT to_regclass(%s)::oid", (info.sql,)).fetchone()
        if row is None or row[0] is None:
            raise OperationError(
                f"table {info.label} is missing in the target after the structure step.",
                hint="Run the sync without --structure-only filters for it, or create it.",
            )
        oids.append(int(row[0]))
    return oids


def read_sequences(
    conn: psycopg.Connection[Any], tables: list[TableInfo]
) -> dict[str, tuple[int, bool]]:
    """(last_value, is_called) of every sequence the tables own, on the source."""
    values = {}
    for info in tables:
        for seq in info.sequences:
            row = conn.execute(f"SELECT last_value, is_called FROM {seq}".encode()).fetchone()
            if row is not None:
                values[seq] = (int(row[0]), bool(row[1]))
    return values


def set_sequences(
    conn: psycopg.Connection[Any], values: dict[str, tuple[int, bool]]
) -> dict[str, int]:
    """Set each sequence on the target and read it back; returns the values set."""
    done = {}
    for seq, (value, called) in values.items():
        if conn.execute("SELECT to_regclass(%s)", (seq,)).fetchone() == (None,):
            continue
        conn.execute("SELECT setval(%s::regclass, %s, %s)", (seq, value, called))
        row = conn.execute(f"SELECT last_value, is_called FROM {seq}".encode()).fetchone()
        if row is None or (int(row[0]), bool(row[1])) != (value, called):
            raise OperationError(
                f"sequence {seq} did not take the source's value {value}; the target was left"
                " as it was.",
                hint="Check that dbenv's user owns the sequence on the target.",
            )
        done[seq] = value
    return done
