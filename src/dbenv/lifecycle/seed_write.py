"""Write one table's seed rows: COPY into a temporary table, upsert on the primary key.

Split from ``dbenv.lifecycle.seed``, which reads, checks and orders the tables.
A ``SeedTable`` is one table's rows with the file each came from, so a failure
(``row_error``) names the file, the row and the column. Rows closing a cycle
between tables go in with those columns NULL and are filled afterwards
(``fill_late``); deferred constraints are checked before the caller commits
(``check_deferred``).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from dbenv.errors import OperationError, SeedDataError
from dbenv.lifecycle.seed_files import TableRows, fail
from dbenv.lifecycle.tablegraph import TableInfo, quote

if TYPE_CHECKING:
    import psycopg


@dataclass
class SeedTable:
    info: TableInfo
    rows: list[dict[str, Any]] = field(default_factory=list)
    starts: list[tuple[int, TableRows]] = field(default_factory=list)  # first row's index

    def origin(self, index: int) -> tuple[TableRows, int]:
        """The file a row came from and its number there (1-based)."""
        start, source = self.starts[bisect.bisect_right(self.starts, index, key=lambda s: s[0]) - 1]
        return source, index - start + 1

    number: int = 0  # names its temporary tables
    groups: list[tuple[tuple[str, ...], list[int]]] | None = None


def _value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def write_table(conn: psycopg.Connection[Any], target: SeedTable, late: set[str]) -> int:
    """Write the rows; returns rows changed.

    An empty table (the usual case right after a reset) takes the rows by COPY
    straight in; otherwise they are COPYed into a temporary table and upserted.
    """
    changed = 0
    info = target.info
    groups = row_groups(target)
    empty = (
        not late
        and not (
            conn.execute(f"SELECT EXISTS (SELECT 1 FROM {info.qualified})").fetchone() or (False,)
        )[0]
    )
    for g, (columns, indexes) in enumerate(groups):
        if empty:
            _copy(conn, target, info.qualified, columns, indexes)
            changed += len(indexes)
            continue
        temp = quote(f"_dbenv_seed_{target.number}_{g}")
        cols = ", ".join(quote(c) for c in columns)
        conn.execute(
            f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS "
            f"SELECT {cols} FROM {info.qualified} WITH NO DATA"
        )
        _copy(conn, target, temp, columns, indexes)
        changed += _upsert(conn, target, temp, columns, indexes, late)
    return changed


def _copy(
    conn: psycopg.Connection[Any],
    target: SeedTable,
    into: str,
    columns: tuple[str, ...],
    indexes: list[int],
) -> None:
    from psycopg import Error

    rows = target.rows
    convert = [i for i, c in enumerate(columns) if _is_json(target.info, c)]
    position = 0
    try:
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(f"COPY {into} ({', '.join(quote(c) for c in columns)}) FROM STDIN") as copy,
        ):
            pick = itemgetter(*columns)
            for index in indexes:
                values = pick(rows[index])
                if len(columns) == 1:
                    values = (values,)
                if convert:
                    values = tuple(_value(v) if i in convert else v for i, v in enumerate(values))
                copy.write_row(values)
                position += 1
    except Error as exc:
        if "Key (" in (exc.diag.message_detail or ""):
            raise row_error(target, exc, indexes) from None
        context = exc.diag.context or ""
        match = re.search(r"line (\d+)(?:, column ([^:]+))?", context)
        line = int(match.group(1)) if match else 1
        source, number = target.origin(indexes[min(line, len(indexes)) - 1])
        column = match.group(2) if match and match.group(2) else exc.diag.column_name
        raise fail(source, primary_message(exc), row=number, column=column) from None
    except (TypeError, ValueError) as exc:  # a Python value psycopg cannot write
        source, number = target.origin(indexes[position])
        row = rows[indexes[position]]
        column = next((c for c in columns if isinstance(row[c], (dict, list))), None)
        raise fail(
            source, f"value cannot be written here ({exc})", row=number, column=column
        ) from None


def _is_json(info: TableInfo, name: str) -> bool:
    column = info.column(name)
    return column is not None and column.type in ("json", "jsonb")


def primary_message(exc: Any) -> str:
    text = exc.diag.message_primary or str(exc).splitlines()[0]
    return str(text).rstrip(".") + "."


def _upsert(
    conn: psycopg.Connection[Any],
    target: SeedTable,
    temp: str,
    columns: tuple[str, ...],
    indexes: list[int],
    late: set[str],
) -> int:
    from psycopg import Error

    info = target.info
    q = [quote(c) for c in columns]
    select = ", ".join("NULL" if c in late else quote(c) for c in columns)
    overriding = (
        " OVERRIDING SYSTEM VALUE"
        if any((col := info.column(c)) and col.identity == "a" for c in columns)
        else ""
    )
    key = next(
        (k for k in (info.primary_key, *info.unique_keys) if k and set(k) <= set(columns)), None
    )
    insert = (
        f"INSERT INTO {info.qualified} AS t ({', '.join(q)}){overriding} "
        f"SELECT {select} FROM {temp} s"
    )
    if key is None:
        match = " AND ".join(f"t.{c}::text IS NOT DISTINCT FROM s.{c}::text" for c in q)
        sql = f"{insert} WHERE NOT EXISTS (SELECT 1 FROM {info.qualified} t WHERE {match})"
    else:
        rest = [quote(c) for c in columns if c not in key and c not in late]
        conflict = f" ON CONFLICT ({', '.join(quote(k) for k in key)})"
        if rest:
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)
            differs = " OR ".join(f"t.{c}::text IS DISTINCT FROM EXCLUDED.{c}::text" for c in rest)
            sql = f"{insert}{conflict} DO UPDATE SET {sets} WHERE {differs}"
        else:
            sql = f"{insert}{conflict} DO NOTHING"
    try:
        with conn.transaction():
            cur = conn.execute(sql)
    except Error as exc:
        raise row_error(target, exc, indexes) from None
    return max(cur.rowcount, 0)


def row_error(target: SeedTable, exc: Any, indexes: list[int]) -> SeedDataError:
    """Find the row an INSERT error is about from the error's detail (Key (c)=(v))."""
    diag = exc.diag
    column = diag.column_name
    detail = diag.message_detail or ""
    match = re.search(r"Key \((.+?)\)=\((.*?)\)", detail)
    candidates = indexes or list(range(len(target.rows)))
    chosen = candidates[0]
    if match:
        keys = [k.strip().strip('"') for k in match.group(1).split(",")]
        values = [v.strip() for v in match.group(2).split(",")]
        column = keys[0]
        for index in candidates:
            row = target.rows[index]
            if [str(row.get(k)) for k in keys] == values:
                chosen = index
                break
    elif column:
        chosen = next((i for i in candidates if target.rows[i].get(column) is None), chosen)
    source, number = target.origin(chosen)
    message = primary_message(exc)
    if match:
        message = f"{message} ({detail.rstrip('.')})."
    return fail(source, message, row=number, column=column)


def fill_late(conn: psycopg.Connection[Any], target: SeedTable, columns: set[str]) -> None:
    info = target.info
    key = info.primary_key
    if not key:
        raise OperationError(
            f"cannot seed the cycle through {info.qualified}: it has no primary key."
        )
    from psycopg import Error

    for g, (group, indexes) in enumerate(row_groups(target)):
        wanted = [c for c in group if c in columns]
        if not wanted or not set(key) <= set(group):
            continue
        temp = quote(f"_dbenv_seed_{target.number}_{g}")
        sets = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in wanted)
        on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in key)
        differs = " OR ".join(f"t.{quote(c)} IS DISTINCT FROM s.{quote(c)}" for c in wanted)
        try:
            with conn.transaction():
                conn.execute(
                    f"UPDATE {info.qualified} t SET {sets} FROM {temp} s WHERE {on} AND ({differs})"
                )
        except Error as exc:
            raise row_error(target, exc, indexes) from None


def row_groups(target: SeedTable) -> list[tuple[tuple[str, ...], list[int]]]:
    """The rows' indexes by the columns they name (one COPY per column set)."""
    if target.groups is None:
        groups: dict[tuple[str, ...], list[int]] = {}
        for index, row in enumerate(target.rows):
            groups.setdefault(tuple(row), []).append(index)
        target.groups = list(groups.items())
    return target.groups


def check_deferred(conn: psycopg.Connection[Any], targets: Mapping[str, SeedTable]) -> None:
    """Check deferred constraints now, so a broken reference is reported, not a commit error."""
    from psycopg import Error

    try:
        with conn.transaction():
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    except Error as exc:
        table = exc.diag.table_name
        found = next((t for t in targets.values() if t.info.name == table), None)
        if found is None:
            raise OperationError(f"seeding failed: {primary_message(exc)}") from None
        raise row_error(found, exc, []) from None
