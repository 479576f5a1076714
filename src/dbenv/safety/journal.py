"""The journal: one row per destructive operation — who, when, what, from where.

Operations that ran (``ok``, ``failed``, with or without an override) are written
to ``dbenv.journal`` inside the target database, next to the stamp. A refused
operation never writes into the database it was refused on; it is appended to the
project's local journal, ``<root>/.dbenv/journal.jsonl``, which is also the
fallback when the database cannot take the row (dropped mid-operation).
Arguments are written as given by the command; commands never pass secrets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "JournalEntry",
    "Outcome",
    "ensure_table",
    "read_entries",
    "restore_entries",
    "write_entry",
    "write_local",
]

Outcome = Literal["ok", "failed", "refused"]

_DDL = """
CREATE TABLE IF NOT EXISTS dbenv.journal (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    operation text NOT NULL,
    project text NOT NULL,
    environment text NOT NULL,
    scope text,
    os_user text,
    host text,
    pid integer,
    arguments jsonb NOT NULL DEFAULT '{}',
    rows jsonb,
    duration_ms double precision,
    outcome text NOT NULL,
    override text,
    snapshot text,
    detail text
)
"""

_COLUMNS = (
    "at",
    "operation",
    "project",
    "environment",
    "scope",
    "os_user",
    "host",
    "pid",
    "arguments",
    "rows",
    "duration_ms",
    "outcome",
    "override",
    "snapshot",
    "detail",
)


@dataclass(frozen=True)
class JournalEntry:
    """One journal row."""

    operation: str
    project: str
    environment: str
    outcome: Outcome
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    scope: str | None = None
    os_user: str = ""
    host: str = ""
    pid: int = field(default_factory=os.getpid)
    arguments: Mapping[str, object] = field(default_factory=dict)
    rows: int | Mapping[str, int] | None = None
    duration_ms: float | None = None
    override: str | None = None  # the database name an override named
    snapshot: str | None = None  # the safety snapshot taken before an override
    detail: str | None = None  # failed: the error (masked); refused: the check


def ensure_table(conn: psycopg.Connection[Any]) -> None:
    """Create ``dbenv.journal`` (and the ``dbenv`` schema) when missing."""
    row = conn.execute("SELECT to_regclass('dbenv.journal') IS NOT NULL").fetchone()
    if row and row[0]:
        return  # CREATE ... IF NOT EXISTS would still need the CREATE privilege
    with conn.transaction():
        conn.execute("CREATE SCHEMA IF NOT EXISTS dbenv")
        conn.execute(_DDL)


def _values(entry: JournalEntry) -> tuple[object, ...]:
    from psycopg.types.json import Jsonb

    data = asdict(entry)
    data["arguments"] = Jsonb(_jsonable(entry.arguments))
    data["rows"] = None if entry.rows is None else Jsonb(_jsonable(entry.rows))
    return tuple(data[c] for c in _COLUMNS)


_INSERT = "INSERT INTO dbenv.journal ({}) VALUES ({})".format(
    ", ".join(_COLUMNS), ", ".join(["%s"] * len(_COLUMNS))
)


def write_entry(conn: psycopg.Connection[Any], entry: JournalEntry) -> None:
    """Insert one row into ``dbenv.journal`` (creating the table if needed)."""
    if conn.autocommit and not conn.closed:
        from psycopg import errors

        # one statement is its own transaction: a round trip where the table exists
        try:
            conn.execute(_INSERT, _values(entry))
            return
        except errors.UndefinedTable:
            pass
    write_entries(conn, [entry])


def write_entries(conn: psycopg.Connection[Any], entries: Sequence[JournalEntry]) -> None:
    ensure_table(conn)
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(_INSERT, [_values(e) for e in entries])


def read_entries(
    conn: psycopg.Connection[Any], *, environment: str | None = None
) -> list[JournalEntry]:
    """Every journal row (of one environment, when given), oldest first."""
    row = conn.execute("SELECT to_regclass('dbenv.journal') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return []
    columns = ", ".join(_COLUMNS)
    rows = conn.execute(
        f"SELECT {columns} FROM dbenv.journal"
        " WHERE %(env)s::text IS NULL OR environment = %(env)s ORDER BY id",
        {"env": environment},
    ).fetchall()
    return [JournalEntry(**dict(zip(_COLUMNS, r, strict=True))) for r in rows]


def restore_entries(conn: psycopg.Connection[Any], entries: Sequence[JournalEntry]) -> None:
    """Put rows saved before a drop back into a recreated database."""
    if entries:
        write_entries(conn, entries)


def write_local(root: Path, entry: JournalEntry) -> Path | None:
    """Append the entry to ``<root>/.dbenv/journal.jsonl``; returns the file.

    Best effort: a project directory that cannot be written (read-only checkout)
    returns None rather than hiding the refusal or failure being journaled.
    """
    path = root / ".dbenv" / "journal.jsonl"
    data = _jsonable(asdict(entry))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(data, sort_keys=True) + "\n")
    except OSError:
        return None
    return path


def read_local(root: Path) -> list[dict[str, Any]]:
    """The local journal's entries, oldest first (an absent file: none)."""
    path = root / ".dbenv" / "journal.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def os_user() -> str:
    """The operating-system user running dbenv (for the journal's "who")."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def host_name() -> str:
    """The machine dbenv runs on (for the journal's "from where")."""
    import socket

    return socket.gethostname()


def _jsonable(value: object) -> Any:
    """JSON-ready, with any URL password a caller passed along masked."""
    from dbenv.config.masking import scrub

    plain = json.loads(json.dumps(value, default=str))
    return json.loads(scrub(json.dumps(plain), ()))
