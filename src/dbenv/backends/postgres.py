"""PostgreSQL backend: the one module that imports psycopg.

Connections are opened from a ``Secret``/string URL; errors become dbenv errors
whose messages never carry the password.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dbenv.config.masking import mask_url
from dbenv.config.model import Secret
from dbenv.errors import ConnectionFailed

if TYPE_CHECKING:
    import psycopg

    from dbenv.config.model import Environment


def _plain(url: Secret | str) -> str:
    return url.reveal() if isinstance(url, Secret) else url


def connect(
    url: Secret | str,
    *,
    application_name: str | None = None,
    autocommit: bool = False,
    search_path: str | None = None,
    connect_timeout: int = 10,
    **kwargs: Any,
) -> psycopg.Connection[Any]:
    """Open a psycopg connection; a failure raises ``ConnectionFailed`` (masked)."""
    import psycopg

    plain = _plain(url)
    options: dict[str, Any] = {"connect_timeout": connect_timeout, **kwargs}
    if application_name:
        options["application_name"] = application_name[:63]
    if search_path:
        options["options"] = f"-c search_path={search_path}"
    try:
        return psycopg.connect(plain, autocommit=autocommit, **options)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if plain:
            reason = reason.replace(plain, mask_url(plain))
        raise ConnectionFailed(
            f"could not connect to {mask_url(plain)}: {reason}",
            hint="Check that the server is running and the URL is right (dbenv status).",
        ) from None


class PendingConnection:
    """``connect`` running on a thread, so it overlaps other work (another connect).

    ``take`` waits for it and returns the connection, or None when it failed: the
    caller then connects the usual way and reports that attempt's error.
    """

    def __init__(self, url: Secret | str, **options: Any) -> None:
        import threading

        self._conn: psycopg.Connection[Any] | None = None
        self._thread = threading.Thread(target=self._open, args=(url, options), daemon=True)
        self._thread.start()

    def _open(self, url: Secret | str, options: dict[str, Any]) -> None:
        try:
            self._conn = connect(url, **options)
        except Exception:
            self._conn = None

    def take(self) -> psycopg.Connection[Any] | None:
        self._thread.join()
        conn, self._conn = self._conn, None
        return conn

    def discard(self) -> None:
        conn = self.take()
        if conn is not None:
            conn.close()


def wait_replayed(primary: Secret | str, replica: Secret | str, *, timeout: float = 30) -> bool:
    """Wait until ``replica`` has replayed everything ``primary`` has written so far.

    What ``dbenv up`` just created (databases, roles) is then on the replica too, and
    a test reading there sees the database as it now is. False on timeout.

    A primary with ``synchronous_commit = off`` (a disposable database) leaves
    commits unflushed for up to three ``wal_writer_delay`` s, and a standby gets only
    flushed WAL: one synchronous commit (a transaction id taken) flushes them all.
    """
    import time

    with connect(primary, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")
        conn.execute("SELECT pg_current_xact_id()")
        # written up to that commit's end (the insert position may be a page header
        # further on, which only the next record's replay passes)
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    deadline = time.monotonic() + timeout
    # on the replica, the postgres database: a session in the target database is ended
    # by the replay of its DROP when the primary has just recreated it (a test session)
    with connect(with_database(replica, "postgres"), autocommit=True) as conn:
        while True:
            done = conn.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0] if row else "0/0",)
            ).fetchone()
            if done is not None and done[0]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


# --- lifecycle helpers (guard, stamp, status, provision): additive ------------------


def url_parts(url: Secret | str) -> dict[str, str]:
    """The conninfo keywords of a URL (``user``, ``password``, ``dbname``, ``host``...)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(_plain(url))
    except Exception:
        raise ConnectionFailed(
            f"could not parse the database URL {mask_url(_plain(url))}.",
            hint="Check the environment's database_url (dbenv config show).",
        ) from None
    return {key: str(value) for key, value in parts.items() if value is not None}


def with_database(url: Secret | str, dbname: str) -> str:
    """The same server and credentials, another database (e.g. ``postgres``).

    A URL goes through ``dbenv.config.urls.with_database``; only a ``key=value``
    conninfo string (a connection's own ``info.dsn``) needs libpq's rules here.
    """
    from dbenv.config.urls import with_database as url_with_database

    plain = _plain(url)
    if "://" not in plain:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(plain, dbname=dbname)
    return url_with_database(plain, dbname)


def user_relations(
    conn: psycopg.Connection[Any], *, schema: str | None = None, prefix: str | None = None
) -> list[tuple[str, str]]:
    """(schema, name) of the user's tables, views and sequences in scope.

    ``schema``: only that schema; ``prefix``: only names starting with it (current
    schema); neither: every schema but the system ones and dbenv's own.
    """
    rows = conn.execute(
        """
        SELECT n.nspname, c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbenv')
          AND n.nspname NOT LIKE 'pg\\_%%'
          AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s)
          AND (%(prefix)s::text IS NULL OR (n.nspname = current_schema()
               AND left(c.relname, length(%(prefix)s)) = %(prefix)s))
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1, 2
        """,
        {"schema": schema, "prefix": prefix},
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def catalog_fingerprint(
    conn: psycopg.Connection[Any],
    *,
    schema: str | None = None,
    prefix: str | None = None,
    others: Sequence[str] = (),
) -> str:
    """A short hash of the structure in scope: columns, constraints and indexes."""
    import hashlib

    rows = conn.execute(
        """
        SELECT n.nspname, c.relname, c.relkind::text,
          coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                    || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY a.attnum)
                    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                    AND NOT a.attisdropped), ''),
          coalesce((SELECT string_agg(pg_get_constraintdef(k.oid), '; ' ORDER BY k.conname)
                    FROM pg_constraint k WHERE k.conrelid = c.oid), ''),
          coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid), '; '
                    ORDER BY pg_get_indexdef(i.indexrelid))
                    FROM pg_index i WHERE i.indrelid = c.oid), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbenv')
          AND n.nspname NOT LIKE 'pg\\_%%'
          AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s)
          AND (%(prefix)s::text IS NULL OR (n.nspname = current_schema()
               AND left(c.relname, length(%(prefix)s)) = %(prefix)s))
          AND NOT EXISTS (SELECT 1 FROM unnest(%(others)s::text[]) AS o(p)
                          WHERE n.nspname = current_schema()
                            AND left(c.relname, length(o.p)) = o.p)
        ORDER BY 1, 2
        """,
        {"schema": schema, "prefix": prefix, "others": list(others)},
    ).fetchall()
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digest[:12]


SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "dbenv")


def scope_condition(env: Environment) -> tuple[str, list[Any]]:
    """A WHERE fragment over ``n.nspname`` / ``c.relname`` selecting the env's tables."""
    if env.isolation == "schema" and env.schema:
        return "n.nspname = %s", [env.schema]
    base = "n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_%%'"
    if env.isolation == "prefix" and env.prefix:
        return base + " AND left(c.relname, %s) = %s", [
            list(SYSTEM_SCHEMAS),
            len(env.prefix),
            env.prefix,
        ]
    return base, [list(SYSTEM_SCHEMAS)]


# --- sync helpers (COPY streaming between two connections): additive ----------------


COPY_CHUNK = 128 * 1024  # bytes per write: psycopg's largest unsplit buffer
COPY_QUEUE = 64  # chunks in flight to the writer thread (bounds memory to ~8 MB)


def copy_stream(
    source: psycopg.Connection[Any],
    target: psycopg.Connection[Any],
    copy_out: str,
    copy_in: str,
    *,
    on_chunk: Any = None,
) -> tuple[int, int]:
    """Stream ``COPY ... TO STDOUT`` on ``source`` into ``COPY ... FROM STDIN`` on ``target``.

    Rows arrive one by one; they are gathered into ~128 kB chunks (a write per
    row costs more than the copy itself) handed to a writer thread through a
    bounded queue, so reading and writing overlap and memory stays bounded.
    ``on_chunk(bytes_so_far)`` is called about every MB. Returns (rows, bytes).
    """
    from psycopg.copy import QueuedLibpqWriter

    moved = reported = 0
    with source.cursor() as out_cur, target.cursor() as in_cur:
        writer = QueuedLibpqWriter(in_cur)
        # psycopg's default queue holds up to 1024 chunks (128 MB): keep a few MB in flight
        writer._queue = type(writer._queue)(maxsize=COPY_QUEUE)
        with (
            out_cur.copy(copy_out.encode()) as out,
            in_cur.copy(copy_in.encode(), writer=writer) as into,
        ):
            chunk = bytearray()
            for data in out:
                chunk += data
                if len(chunk) >= COPY_CHUNK:
                    into.write(chunk)
                    moved += len(chunk)
                    chunk = bytearray()
                    if on_chunk is not None and moved - reported >= 1 << 20:
                        reported = moved
                        on_chunk(moved)
            if chunk:
                into.write(chunk)
                moved += len(chunk)
        rows = in_cur.rowcount
    if on_chunk is not None:
        on_chunk(moved)
    return max(rows, 0), moved


def error_message(exc: BaseException) -> str | None:
    """The server's primary message when ``exc`` is a psycopg error, else None."""
    import psycopg

    if not isinstance(exc, psycopg.Error):
        return None
    diag = getattr(exc, "diag", None)
    primary = diag.message_primary if diag is not None else None
    return (primary or str(exc) or type(exc).__name__).strip()


async def connect_async(
    url: Secret | str,
    *,
    application_name: str | None = None,
    autocommit: bool = False,
    search_path: str | None = None,
    connect_timeout: int = 10,
) -> psycopg.AsyncConnection[Any]:
    """The asyncio twin of ``connect`` (pytest plugin's ``async_db``); masked failures."""
    import psycopg

    plain = _plain(url)
    options: dict[str, Any] = {"connect_timeout": connect_timeout}
    if application_name:
        options["application_name"] = application_name[:63]
    if search_path:
        options["options"] = f"-c search_path={search_path}"
    try:
        return await psycopg.AsyncConnection.connect(plain, autocommit=autocommit, **options)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ConnectionFailed(
            f"could not connect to {mask_url(plain)}: {reason.replace(plain, mask_url(plain))}",
            hint="Check that the server is running and the URL is right (dbenv status).",
        ) from None


def lock_key(name: str) -> int:
    """The advisory lock key a database's builder holds while it builds (by name).

    Template builds, swap copies and diff's scratch databases all use it, and
    ``dbenv status`` reads it back from ``pg_locks`` to tell a running build from a
    leftover.
    """
    import hashlib

    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
