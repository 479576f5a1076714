"""Data-only reset: empty just the tables that hold rows, keep the reference rows.

One prepared query finds which of the environment's tables hold rows and which
owned sequences have moved; only those are emptied (DELETE in foreign-key order,
one TRUNCATE where a cycle or a DELETE rule makes DELETE wrong), their sequences
restarted. TRUNCATE costs per table, DELETE per row: with a few dirty tables out
of hundreds this is milliseconds.

Reference rows — rows the schema source itself inserted (Alembic data
migrations, ``alembic_version``) — are captured right after the schema is built
(``capture_reference``) into ``dbenv.reference_*`` copies, which a template clone
carries along; a data-only reset restores them instead of emptying the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.config.model import Environment
from dbenv.errors import OperationError
from dbenv.tablegraph import TableGraph, load_graph, quote

if TYPE_CHECKING:
    import psycopg

_REFERENCE_MAP = """
CREATE SCHEMA IF NOT EXISTS dbenv;
CREATE TABLE IF NOT EXISTS dbenv.reference (
    source text PRIMARY KEY,          -- the table, "schema"."name"
    copy text NOT NULL,               -- dbenv."reference_..."
    scope text NOT NULL,              -- which environment scope captured it
    checksum text NOT NULL,           -- md5 of the rows as text, sorted
    sequences jsonb NOT NULL DEFAULT '{}'  -- sequence -> [last_value, is_called]
)
"""


@dataclass(frozen=True)
class Reference:
    source: str
    copy: str
    checksum: str
    sequences: Mapping[str, tuple[int, bool]]


@dataclass(frozen=True)
class DataResetPlan:
    """What a data-only reset looks at, computed once from the catalog."""

    graph: TableGraph
    tables: tuple[str, ...]  # index in the check query -> table, parents first
    sequences: tuple[tuple[str, str], ...]  # index -> (table, sequence) of non-reference tables
    references: Mapping[str, Reference]
    check_sql: str


def scope_key(env: Environment) -> str:
    if env.isolation == "prefix":
        return f"prefix:{env.prefix}"
    if env.isolation == "schema":
        return f"schema:{env.schema}"
    return "database"


def _rows_checksum(table: str) -> str:
    return f"(SELECT coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM {table} x)"


def capture_reference(conn: psycopg.Connection[Any], env: Environment) -> tuple[str, ...]:
    """Copy the rows the schema source inserted; returns the tables captured."""
    graph = load_graph(conn, env)
    scope = scope_key(env)
    exists = conn.execute("SELECT to_regclass('dbenv.reference') IS NOT NULL").fetchone()
    if exists and exists[0]:
        for (copy,) in conn.execute(
            "DELETE FROM dbenv.reference WHERE scope = %s RETURNING copy", [scope]
        ).fetchall():
            conn.execute(f"DROP TABLE IF EXISTS {copy}")
    if not graph.tables:
        return ()
    probe = " UNION ALL ".join(
        f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {t})" for i, t in enumerate(graph.tables)
    )
    names = list(graph.tables)
    filled = [names[row[0]] for row in conn.execute(probe).fetchall()]
    if not filled:
        return ()
    conn.execute(_REFERENCE_MAP)
    for table in filled:
        copy = "dbenv." + quote("reference_" + hashlib.md5(table.encode()).hexdigest()[:24])
        conn.execute(f"CREATE TABLE {copy} AS TABLE {table}")
        sequences = {}
        for seq, _column in graph.tables[table].sequences:
            row = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()
            assert row is not None
            sequences[seq] = [row[0], row[1]]
        checksum = conn.execute(f"SELECT {_rows_checksum(table)}").fetchone()
        from psycopg.types.json import Jsonb

        conn.execute(
            "INSERT INTO dbenv.reference VALUES (%s, %s, %s, %s, %s)",
            [table, copy, scope, checksum[0] if checksum else "", Jsonb(sequences)],
        )
    return tuple(filled)


def _references(conn: psycopg.Connection[Any], env: Environment) -> dict[str, Reference]:
    exists = conn.execute("SELECT to_regclass('dbenv.reference') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute(
        "SELECT source, copy, checksum, sequences FROM dbenv.reference WHERE scope = %s",
        [scope_key(env)],
    ).fetchall()
    return {
        r[0]: Reference(r[0], r[1], r[2], {k: (v[0], v[1]) for k, v in r[3].items()}) for r in rows
    }


def plan(
    conn: psycopg.Connection[Any], env: Environment, *, keep: Iterable[str] = ()
) -> DataResetPlan:
    """Build the check query for ``env``'s tables (``keep``: tables left alone)."""
    graph = load_graph(conn, env)
    references = {k: v for k, v in _references(conn, env).items() if k in graph.tables}
    kept = {t for t in graph.tables if graph.tables[t].name in set(keep) or t in set(keep)}
    tables = tuple(t for t in graph.parents_first() if t not in kept)
    sequences = tuple(
        (t, seq) for t in tables if t not in references for seq, _ in graph.tables[t].sequences
    )
    parts = []
    for i, table in enumerate(tables):
        ref = references.get(table)
        if ref is None:
            parts.append(f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {table})")
        else:
            checks = [f"{_rows_checksum(table)} <> '{ref.checksum}'"] + [
                f"(SELECT (last_value, is_called) <> ({v}::bigint, {c}) FROM {seq})"
                for seq, (v, c) in ref.sequences.items()
            ]
            parts.append(f"SELECT {i} WHERE " + " OR ".join(checks))
    offset = len(tables)
    for j, (_table, seq) in enumerate(sequences):
        parts.append(f"SELECT {offset + j} FROM {seq} WHERE is_called")
    check_sql = " UNION ALL ".join(parts) if parts else "SELECT 0 WHERE false"
    return DataResetPlan(graph, tables, sequences, references, check_sql)


def run(conn: psycopg.Connection[Any], plan: DataResetPlan) -> tuple[str, ...]:
    """Empty what the plan's check finds dirty; returns the tables emptied or restored.

    Runs in the caller's transaction; loops while DELETE triggers dirty more tables.
    """
    emptied: list[str] = []
    for _ in range(5):
        found = [r[0] for r in conn.execute(plan.check_sql, prepare=True).fetchall()]
        if not found:
            break
        n = len(plan.tables)
        dirty = [plan.tables[i] for i in found if i < n]
        moved = [plan.sequences[i - n][1] for i in found if i >= n]
        statements = _statements(plan, dirty, moved)
        conn.execute("; ".join(statements))
        emptied.extend(t for t in dirty if t not in emptied)
        if not any(plan.graph.tables[t].delete_triggers for t in dirty):
            break
    return tuple(emptied)


def _statements(plan: DataResetPlan, dirty: list[str], moved: list[str]) -> list[str]:
    graph = plan.graph
    refs = [t for t in dirty if t in plan.references]
    plain = [t for t in dirty if t not in plan.references]
    special = {t for t in plain if t in graph.cyclic() or graph.tables[t].delete_rule}
    statements: list[str] = []
    truncate: set[str] = set()
    if special:
        truncate = graph.referencing(special)
        outside = [fk.child for fk in graph.outside_references if fk.parent in truncate]
        if outside:
            raise OperationError(
                f"cannot empty {', '.join(sorted(special))}: {outside[0]} outside this "
                "environment references it.",
                hint="Remove that foreign key, or reset the whole database.",
            )
        truncate -= set(refs)
        statements.append(f"TRUNCATE {', '.join(sorted(truncate))} RESTART IDENTITY")
    children_first = [t for t in reversed(graph.parents_first()) if t in set(plain) - truncate]
    statements += [f"DELETE FROM {t}" for t in children_first]
    statements += [f"ALTER SEQUENCE {seq} RESTART" for seq in sorted(set(moved))]
    statements += _restore(plan, refs)
    return statements


def _restore(plan: DataResetPlan, refs: list[str]) -> list[str]:
    """Put reference tables back: delete children first, insert parents first."""
    if not refs:
        return []
    closure = plan.graph.referencing(refs) & set(plan.references)
    order = [t for t in plan.graph.parents_first() if t in closure]
    statements = [f"DELETE FROM {t}" for t in reversed(order)]
    for table in order:
        ref = plan.references[table]
        statements.append(f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {ref.copy}")
        statements += [
            f"SELECT setval('{seq.replace(chr(39), chr(39) * 2)}', {value}, {called})"
            for seq, (value, called) in ref.sequences.items()
        ]
    return statements
