"""Seed an environment from JSON, YAML or CSV files: FK-ordered, idempotent, all or nothing.

Files: JSON or YAML ``{"table": [rows]}``; CSV one file per table (file stem =
table, empty cell = NULL). Table names are logical: prefix isolation maps them
through ``env.table()``. Rows go in parents first (order from the catalog); each
table's rows are COPYed into a temporary table and upserted on the primary key
(``INSERT ... SELECT ... ON CONFLICT``), so seeding twice changes nothing and
100k rows take about as long as a COPY. Self-references need nothing special
(PostgreSQL checks a statement's foreign keys at its end); a cycle between
tables is inserted with its deferrable constraints deferred, or with the
closing columns NULL and then updated. Owned sequences and identity columns are
advanced past the largest id.

How one table's rows are written (COPY, upsert, the row an error names) is in
``dbenv.lifecycle.seed_write``; this module reads, checks and orders them.

Everything happens in the caller's transaction: a bad file — unknown table or
column, wrong type, broken reference — raises ``SeedDataError`` naming the file,
table, row and column, and nothing is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbenv.config.model import Environment
from dbenv.errors import ConfigError, OperationError
from dbenv.lifecycle.seed_files import TableRows, fail, read_files
from dbenv.lifecycle.seed_write import SeedTable, check_deferred, fill_late, row_groups, write_table
from dbenv.lifecycle.tablegraph import TableGraph, TableInfo, load_graph, quote
from dbenv.testpoint import reached

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

__all__ = ["SeedResult", "TableRows", "read_files", "seed", "seed_rows"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SeedResult:
    environment: str
    files: tuple[str, ...]
    tables: Mapping[str, int]  # physical table -> rows in the files
    changed: Mapping[str, int]  # physical table -> rows inserted or updated
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def seed_rows(
    conn: psycopg.Connection[Any],
    env: Environment,
    data: Sequence[TableRows],
    *,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write ``data`` through ``conn`` (inside the caller's transaction); rows changed per table."""
    graph = load_graph(conn, env)
    targets = _resolve(graph, env, data)
    order = _seed_order(graph, targets)
    late = _cycle_columns(graph, targets, order)
    conn.execute("SET CONSTRAINTS ALL DEFERRED")
    changed: dict[str, int] = {}
    for number, table in enumerate(order):
        if progress:
            progress(f"seeding {targets[table].info.name} ({len(targets[table].rows)} rows)")
        targets[table].number = number
        changed[_shown(targets[table].info)] = write_table(
            conn, targets[table], late.get(table, set())
        )
    for table, columns in late.items():
        fill_late(conn, targets[table], columns)
    check_deferred(conn, targets)
    for table in order:
        _advance_sequences(conn, targets[table].info)
    return changed


def _shown(info: TableInfo) -> str:
    """``name``, or ``schema.name`` outside public."""
    return info.name if info.schema == "public" else f"{info.schema}.{info.name}"


def _resolve(
    graph: TableGraph, env: Environment, data: Sequence[TableRows]
) -> dict[str, SeedTable]:
    targets: dict[str, SeedTable] = {}
    for source in data:
        schema, _, name = source.table.rpartition(".")
        physical = (schema + "." if schema else "") + env.table(name)
        info = graph.by_name(physical)
        if info is None:
            looked = f" (looked for '{physical}')" if physical != source.table else ""
            raise fail(
                source,
                f"no table '{source.table}' in environment '{env.name}'{looked}",
                hint="Check the table name, or build the schema first (dbenv reset).",
            )
        _check_columns(source, info)
        target = targets.setdefault(info.qualified, SeedTable(info))
        target.rows.extend(source.rows)
        target.starts.append((len(target.rows) - len(source.rows), source))
    for target in targets.values():
        _check_duplicates(target)
    return targets


def _check_columns(source: TableRows, info: TableInfo) -> None:
    """Every column named exists and may be written (checked once per column set)."""
    columns = {c.name: c for c in info.columns}
    checked: set[tuple[str, ...]] = set()
    for number, row in enumerate(source.rows, 1):
        names = tuple(row)
        if names in checked:
            continue
        checked.add(names)
        for key in names:
            column = columns.get(key)
            if column is None:
                raise fail(
                    source,
                    f"table has no column '{key}'",
                    row=number,
                    column=key,
                    hint=f"Columns of {info.name}: {', '.join(columns)}.",
                )
            if column.generated:
                raise fail(
                    source, "is a generated column and cannot be seeded", row=number, column=key
                )


def _check_duplicates(target: SeedTable) -> None:
    key = target.info.primary_key
    if not key:
        return
    try:  # fast path: hashable values, no repeats
        if len(key) == 1:
            only = key[0]
            values: list[Any] = [row[only] for row in target.rows if only in row]
        else:
            values = [
                tuple(row[k] for k in key) for row in target.rows if all(k in row for k in key)
            ]
        if len(set(values)) == len(values):
            return
    except TypeError:
        pass
    seen: dict[tuple[str, ...], int] = {}
    for index, row in enumerate(target.rows):
        if not all(k in row for k in key):
            continue
        value = tuple(str(row[k]) for k in key)
        if value in seen:
            source, number = target.origin(index)
            earlier, earlier_number = target.origin(seen[value])
            raise fail(
                source,
                f"primary key ({', '.join(key)})=({', '.join(value)}) repeats "
                f"row {earlier_number} of {earlier.file}",
                row=number,
                column=key[0],
            )
        seen[value] = index


def _seed_order(graph: TableGraph, targets: Mapping[str, SeedTable]) -> list[str]:
    """Parents first; inside a cycle, a table whose FK must hold at insert comes later.

    Within each run of cyclic tables, the edges that must hold at insert time (not
    deferrable, a NOT NULL column) are sorted topologically; the other edges of the
    cycle are then satisfied by deferral or by filling the column in afterwards.
    """
    order = [t for t in graph.parents_first() if t in targets]
    cyclic = graph.cyclic()
    strict = {
        (fk.child, fk.parent)
        for fk in graph.foreign_keys
        if fk.child != fk.parent
        and not fk.deferrable
        and fk.child in cyclic
        and any((c := graph.tables[fk.child].column(n)) and c.not_null for n in fk.columns)
    }
    result: list[str] = []
    i = 0
    while i < len(order):
        if order[i] not in cyclic:
            result.append(order[i])
            i += 1
            continue
        remaining = []
        while i < len(order) and order[i] in cyclic:
            remaining.append(order[i])
            i += 1
        while remaining:
            pick = next(
                (t for t in remaining if not any((t, p) in strict for p in remaining if p != t)),
                remaining[0],  # a cycle of strict edges: _cycle_columns says why it fails
            )
            result.append(pick)
            remaining.remove(pick)
    return result


def _cycle_columns(
    graph: TableGraph, targets: Mapping[str, SeedTable], order: list[str]
) -> dict[str, set[str]]:
    """Non-deferrable FK columns no single insert order satisfies: filled in afterwards.

    That is an FK closing a cycle between seeded tables, and a self-reference of a
    table whose rows go in as several statements (rows naming different columns).
    """
    cyclic = graph.cyclic()
    position = {t: i for i, t in enumerate(order)}
    late: dict[str, set[str]] = {}
    for fk in graph.foreign_keys:
        if fk.deferrable or fk.child not in targets or fk.parent not in targets:
            continue
        if fk.child == fk.parent:
            closing = len(row_groups(targets[fk.child])) > 1
        else:
            closing = fk.child in cyclic and fk.parent in cyclic
            closing = closing and position[fk.parent] > position[fk.child]
        if not closing:
            continue
        info = graph.tables[fk.child]
        for name in fk.columns:
            column = info.column(name)
            if column is not None and column.not_null:
                raise OperationError(
                    f"cannot seed the foreign-key cycle through {fk.child}.{name}: the "
                    "column is NOT NULL and the constraint is not deferrable.",
                    hint=f"Make {fk.name} DEFERRABLE, or the column nullable.",
                )
        late.setdefault(fk.child, set()).update(fk.columns)
    return late


def _advance_sequences(conn: psycopg.Connection[Any], info: TableInfo) -> None:
    for sequence, column in info.sequences:
        literal = sequence.replace("'", "''")
        conn.execute(
            f"SELECT setval('{literal}', m) FROM (SELECT max({quote(column)}) AS m "
            f"FROM {info.qualified}) x, {sequence} s "
            "WHERE m IS NOT NULL AND (NOT s.is_called OR m > s.last_value)"
        )


def seed(
    project: Project,
    env: Environment,
    files: Sequence[Path | str] | None = None,
    *,
    override: str | None = None,
    progress: Progress | None = None,
) -> SeedResult:
    """Seed ``env`` from ``files`` (default: its ``seed_files``), through the guard."""
    from dbenv.safety.guard import destructive, refuse_protected

    started = time.monotonic()
    refuse_protected(project, env, "seed", override=override)
    # a relative path: as given (from the current directory) if it is there, else
    # relative to the project root, like seed_files
    paths = [
        Path(f) if Path(f).is_absolute() or Path(f).exists() else env.root / f
        for f in (files or ())
    ]
    paths = paths or list(env.seed_files)
    if not paths:
        raise ConfigError(
            f"no seed files given and environment '{env.name}' has no seed_files.",
            hint=f"Pass files (dbenv seed {env.name} FILE...) or set seed_files under "
            f"[environments.{env.name}].",
        )
    data = read_files(paths)
    with destructive(
        project,
        env,
        "seed",
        override=override,
        progress=progress,
        arguments={"files": [str(p) for p in paths]},
    ) as guarded:
        with guarded.conn.transaction():
            changed = seed_rows(guarded.conn, env, data, progress=progress)
            reached("seed:written")
        guarded.record(changed)
    counts: dict[str, int] = {}
    for item in data:
        counts[env.table(item.table)] = counts.get(env.table(item.table), 0) + len(item.rows)
    return SeedResult(
        env.name, tuple(str(p) for p in paths), counts, changed, time.monotonic() - started
    )
