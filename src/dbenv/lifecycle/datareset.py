"""Data-only reset: empty just the tables that hold rows, keep the reference rows.

One query (prepared where the connection is reused) finds which of the
environment's tables hold rows and which owned sequences have moved; only those
are emptied (DELETE in foreign-key order, one TRUNCATE where a cycle or a DELETE
rule makes DELETE wrong), their sequences restarted. TRUNCATE costs per table,
DELETE per row: with a few dirty tables out of hundreds this is milliseconds.

Reference rows — rows the schema source itself inserted (Alembic data
migrations, ``alembic_version``) — are captured right after the schema is built
(``capture_reference``) into ``dbenv.reference_*`` copies, which a template clone
carries along; a data-only reset restores them instead of emptying the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbenv.config.model import Environment
from dbenv.errors import OperationError, UsageError
from dbenv.lifecycle.tablegraph import (
    TableGraph,
    display_name,
    load_delete_graph,
    load_graph,
    quote,
)

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
    """The environment's tables and sequences, read once from the catalog."""

    env: Environment
    tables: tuple[str, ...]  # qualified names
    oids: tuple[int, ...]  # their oids, same order
    always: frozenset[str]  # partitioned tables (no storage of their own): always probed
    sequences: tuple[str, ...]  # owned sequences of non-reference tables
    sequence_oids: tuple[int, ...]
    references: Mapping[str, Reference]
    # graphs of dirty-table sets already seen (a test suite dirties the same few)
    graphs: dict[frozenset[str], TableGraph] = field(default_factory=dict, compare=False)


def scope_key(env: Environment) -> str:
    if env.isolation == "prefix":
        return f"prefix:{env.prefix}"
    if env.isolation == "schema":
        return f"schema:{env.schema}"
    return "database"


def _rows_checksum(table: str) -> str:
    return f"(SELECT coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM {table} x)"


def capture_reference(
    conn: psycopg.Connection[Any], env: Environment, graph: TableGraph | None = None
) -> tuple[str, ...]:
    """Copy the rows the schema source inserted; returns the tables captured."""
    graph = graph or load_graph(conn, env)
    scope = scope_key(env)
    exists = conn.execute("SELECT to_regclass('dbenv.reference') IS NOT NULL").fetchone()
    if exists and exists[0]:
        for (copy,) in conn.execute(
            "DELETE FROM dbenv.reference WHERE scope = %s RETURNING copy", [scope]
        ).fetchall():
            conn.execute(f"DROP TABLE IF EXISTS {copy}")
    if not graph.tables or not env.reference_rows:  # reference_rows = false: none kept
        return ()
    filled = _holding_rows(conn, list(graph.tables))
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


def _holding_rows(conn: psycopg.Connection[Any], tables: list[str]) -> list[str]:
    """Which of ``tables`` hold rows: file size first, EXISTS only where it is not 0."""
    sized = conn.execute(
        "SELECT i FROM unnest(%s::regclass[]) WITH ORDINALITY u(r, i) "
        "WHERE pg_relation_size(r) > 0 OR (SELECT relkind FROM pg_class WHERE oid = r) = 'p'",
        [tables],
    ).fetchall()
    candidates = [tables[r[0] - 1] for r in sized]
    if not candidates:
        return []
    probe = " UNION ALL ".join(
        f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {t})" for i, t in enumerate(candidates)
    )
    return [candidates[r[0]] for r in conn.execute(probe).fetchall()]


_HAS_REFERENCES = "SELECT to_regclass('dbenv.reference') IS NOT NULL"


def _references(conn: psycopg.Connection[Any], env: Environment) -> dict[str, Reference]:
    """The scope's captured reference tables (``dbenv.reference`` must exist)."""
    rows = conn.execute(
        "SELECT source, copy, checksum, sequences FROM dbenv.reference WHERE scope = %s",
        [scope_key(env)],
    ).fetchall()
    return {
        r[0]: Reference(r[0], r[1], r[2], {k: (v[0], v[1]) for k, v in r[3].items()}) for r in rows
    }


# Owned sequences are grouped first and hash-joined: a join from each table through
# pg_depend to pg_class planned as a nested loop over the whole catalog (stale
# catalog statistics in a fresh clone) and took several times longer.
_SCOPE_TABLES = """
WITH owned AS (
    SELECT d.refobjid AS owner, array_agg(s.oid ORDER BY s.oid) AS oids,
           array_agg(format('%%I.%%I', sn.nspname, s.relname) ORDER BY s.oid) AS names
    FROM pg_class s JOIN pg_namespace sn ON sn.oid = s.relnamespace
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
         AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    WHERE s.relkind = 'S'
    GROUP BY d.refobjid
)
SELECT c.oid, format('%%I.%%I', n.nspname, c.relname), c.relkind = 'p',
       coalesce(o.oids, '{{}}'), c.relname, coalesce(o.names, '{{}}'), n.nspname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN owned o ON o.owner = c.oid
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {scope}
ORDER BY 2
"""

# One prepared query: a table whose file is empty has no rows (the common case
# after a template clone) and is not even looked into; the others get a one-row
# query (query_to_xml runs it: dynamic SQL without a function); a sequence never
# called has not moved.
_PROBE = """
SELECT false, i FROM unnest(%s::oid[], %s::bool[]) WITH ORDINALITY u(r, partitioned, i)
WHERE (pg_relation_size(r) > 0 OR partitioned)
  AND query_to_xml(format('SELECT 1 FROM %%s LIMIT 1', r::regclass), false, true, '')::text <> ''
UNION ALL
SELECT true, i FROM unnest(%s::oid[]) WITH ORDINALITY u(r, i)
WHERE pg_sequence_last_value(r) IS NOT NULL
"""


def _check_keep(env: Environment, keep: Iterable[str], tables: list[tuple[str, Any]]) -> None:
    """Refuse a ``--keep`` naming no table of the scope (a typo would empty the table)."""
    known = {form for name, r in tables for form in (name, r[1], r[4])}
    unknown = [name for name in keep if name not in known]
    if unknown:
        names = sorted(display_name(name) for name, _ in tables)
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") or "none"
        raise UsageError(
            f"--keep names no table of environment '{env.name}': {', '.join(unknown)}"
            f" (its tables: {shown}).",
            hint="Name a table as schema.table or by its bare name.",
        )


def plan(
    conn: psycopg.Connection[Any], env: Environment, *, keep: Iterable[str] = ()
) -> DataResetPlan:
    """Read the scope's tables and owned sequences.

    ``keep``: tables left alone, beside the environment's ``keep_tables``. With
    ``reference_rows = false`` the captured reference rows are not restored: those
    tables are emptied like the others.
    """
    from dbenv.lifecycle.tablegraph import scope_condition

    scope, params = scope_condition(env)
    with conn.pipeline():  # one round trip for both
        tables = conn.execute(_SCOPE_TABLES.format(scope=scope), params)
        has_references = conn.execute(_HAS_REFERENCES)
    kept = {*keep, *env.keep_tables}
    # (quoted "schema"."name", row); keep may name a table as formatted, bare or quoted
    every = [(f"{quote(r[6])}.{quote(r[4])}", r) for r in tables.fetchall()]
    _check_keep(env, keep, every)
    rows = [(name, r) for name, r in every if not {name, r[1], r[4]} & kept]
    present = {name for name, _ in rows}
    flag = has_references.fetchone()
    found = _references(conn, env) if flag and flag[0] and env.reference_rows else {}
    references = {k: v for k, v in found.items() if k in present}
    plain = [r for name, r in rows if name not in references]
    return DataResetPlan(
        env=env,
        tables=tuple(name for name, _ in rows),
        oids=tuple(r[0] for _, r in rows),
        always=frozenset(name for name, r in rows if r[2]),
        sequences=tuple(seq for r in plain for seq in r[5]),
        sequence_oids=tuple(oid for r in plain for oid in r[3]),
        references=references,
    )


def find_dirty(
    conn: psycopg.Connection[Any], plan: DataResetPlan, *, prepare: bool = True
) -> tuple[list[str], list[str]]:
    """(tables holding rows or differing from their reference, sequences that moved).

    ``prepare``: keep the probe prepared on ``conn`` (worth it where the connection
    is reused; a one-shot reset saves the extra round trip).
    """
    plain = [
        (t, o) for t, o in zip(plan.tables, plan.oids, strict=True) if t not in plan.references
    ]
    probe = conn.execute(
        _PROBE,
        [[o for _, o in plain], [t in plan.always for t, _ in plain], list(plan.sequence_oids)],
        prepare=prepare,
    )
    dirty: list[str] = []
    moved: list[str] = []
    for is_sequence, index in probe.fetchall():
        if is_sequence:
            moved.append(plan.sequences[index - 1])
        else:
            dirty.append(plain[index - 1][0])
    if plan.references:
        dirty += _differing_references(conn, plan)
    return dirty, moved


def _differing_references(conn: psycopg.Connection[Any], plan: DataResetPlan) -> list[str]:
    tables = sorted(plan.references)
    parts = []
    for i, table in enumerate(tables):
        ref = plan.references[table]
        checks = [f"{_rows_checksum(table)} <> '{ref.checksum}'"] + [
            f"(SELECT (last_value, is_called) <> ({v}::bigint, {c}) FROM {seq})"
            for seq, (v, c) in ref.sequences.items()
        ]
        parts.append(f"SELECT {i} WHERE " + " OR ".join(checks))
    return [tables[r[0]] for r in conn.execute(" UNION ALL ".join(parts)).fetchall()]


def run(
    conn: psycopg.Connection[Any],
    plan: DataResetPlan,
    *,
    prepare: bool = True,
    deleted: dict[str, int] | None = None,
) -> tuple[str, ...]:
    """Empty what is dirty; returns the tables emptied or restored (caller's transaction).

    Loops while DELETE triggers dirty more tables. ``prepare``: see ``find_dirty``.
    ``deleted``: filled with the rows each DELETE removed, per table (the statements'
    own row counts, no extra query); tables emptied by TRUNCATE are not counted.
    """
    emptied: list[str] = []
    for _ in range(5):
        dirty, moved = find_dirty(conn, plan, prepare=prepare)
        if not dirty and not moved:
            break
        graph = _dirty_graph(conn, plan, dirty) if dirty else None
        statements = _statements(plan, graph, dirty, moved)
        cursor = conn.execute("; ".join(statements))
        if deleted is not None:
            _count_deleted(cursor, statements, deleted, restored=plan.references)
        emptied.extend(t for t in dirty if t not in emptied)
        if graph is None or not any(graph.tables[t].delete_triggers for t in dirty):
            break
    return tuple(emptied)


def _count_deleted(
    cursor: psycopg.Cursor[Any],
    statements: list[str],
    deleted: dict[str, int],
    *,
    restored: Mapping[str, Reference],
) -> None:
    """Add each ``DELETE FROM t`` statement's row count to ``deleted[t]`` — not for
    reference tables, whose rows are put back right after."""
    for statement in statements:
        table = statement.removeprefix("DELETE FROM ")
        if table != statement and table not in restored and cursor.rowcount >= 0:
            deleted[table] = deleted.get(table, 0) + cursor.rowcount
        if not cursor.nextset():
            break


def _dirty_graph(
    conn: psycopg.Connection[Any], plan: DataResetPlan, dirty: list[str]
) -> TableGraph:
    """Keys, rules and triggers of just the dirty tables — the whole scope's graph
    when a cycle, a DELETE rule or a reference table needs the referencing closure."""
    key = frozenset(dirty)
    if key not in plan.graphs:
        graph = load_delete_graph(conn, dirty)
        simple = not any(t in plan.references or graph.tables[t].delete_rule for t in dirty)
        plan.graphs[key] = graph if simple and not graph.cyclic() else load_graph(conn, plan.env)
    return plan.graphs[key]


def _statements(
    plan: DataResetPlan, graph: TableGraph | None, dirty: list[str], moved: list[str]
) -> list[str]:
    statements: list[str] = []
    if graph is not None:
        refs = [t for t in dirty if t in plan.references]
        plain = [t for t in dirty if t not in plan.references]
        special = {t for t in plain if t in graph.cyclic() or graph.tables[t].delete_rule}
        truncate: set[str] = set()
        if special:
            truncate = graph.referencing(special) - set(refs)
            outside = [fk.child for fk in graph.outside_references if fk.parent in truncate]
            if outside:
                raise OperationError(
                    f"cannot empty {', '.join(sorted(special))}: {outside[0]} outside this "
                    "environment references it.",
                    hint="Remove that foreign key, or reset the whole database.",
                )
            statements.append(f"TRUNCATE {', '.join(sorted(truncate))} RESTART IDENTITY")
        rest = set(plain) - truncate
        statements += [f"DELETE FROM {t}" for t in reversed(graph.parents_first()) if t in rest]
        statements += _restore(plan, graph, refs)
    if moved:
        # setval, not ALTER SEQUENCE RESTART: that one gives the sequence a new file
        names = ", ".join("'" + seq.replace("'", "''") + "'" for seq in sorted(set(moved)))
        statements.append(
            "SELECT setval(seqrelid, seqstart, false) FROM pg_sequence "
            f"WHERE seqrelid = ANY(ARRAY[{names}]::regclass[])"
        )
    return statements or ["SELECT 1"]


def _restore(plan: DataResetPlan, graph: TableGraph, refs: list[str]) -> list[str]:
    """Put reference tables back: delete children first, insert parents first."""
    if not refs:
        return []
    closure = graph.referencing(refs) & set(plan.references)
    order = [t for t in graph.parents_first() if t in closure]
    statements = [f"DELETE FROM {t}" for t in reversed(order)]
    for table in order:
        ref = plan.references[table]
        statements.append(f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {ref.copy}")
        statements += [
            f"SELECT setval('{seq.replace(chr(39), chr(39) * 2)}', {value}, {called})"
            for seq, (value, called) in ref.sequences.items()
        ]
    return statements
