"""A logical clone: the source's schema through pg_dump/pg_restore, its rows by COPY.

Split from ``dbenv.sync.clone`` (which chooses between this and a template copy).
The pre-data schema is restored first; the rows of every table are streamed from
one ``REPEATABLE READ`` snapshot by a few parallel workers, masked in the source
query where a profile or the masking rules say so; post-data (indexes,
constraints) is built once at the end. ``precheck_masking`` refuses unmasked
personal columns before anything changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.backends.children import binary
from dbenv.errors import GuardRefusal, UsageError
from dbenv.sync import copy, load
from dbenv.sync.catalog import SKIP_SCHEMAS, read_tables
from dbenv.sync.dump import restore_archive, run_tool
from dbenv.sync.masking import MaskedColumn, salt_options, unmasked_personal
from dbenv.sync.profiles import Profile, load_settings
from dbenv.testpoint import reached

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

Say = Callable[[str], None]


def precheck_masking(project: Project, src_url: str, profile: Profile | None) -> None:
    """Refuse unmasked personal columns (and a missing salt) before the guard: nothing changes."""
    with postgres.connect(src_url, autocommit=True) as probe:
        tables = {k: t for k, t in read_tables(probe).items() if k[0] not in SKIP_SCHEMAS}
        columns = _columns(tables, profile, True)
        _require_rules(tables, columns, profile)
        _salt(project, columns)


def logical_clone(
    project: Project,
    src_url: str,
    dst_url: str,
    profile: Profile | None,
    masked: bool,
    progress: Say | None,
) -> tuple[int, int, int]:
    """Pre-data, COPY every table from one snapshot (masked), post-data; returns counts."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="dbenv-clone-") as tmp:
        schema = Path(tmp) / "schema.dump"
        run_tool(
            [
                binary("pg_dump"),
                "-Fc",
                "--schema-only",
                "-N",
                "dbenv",
                f"--lock-wait-timeout={max(1, int(project.lock_timeout * 1000))}",
                "-f",
                str(schema),
            ],
            src_url,
            what="reading the source schema",
        )
        if progress:
            progress("creating tables (pre-data)")
        restore_archive(schema, dst_url, jobs=1, section="pre-data")
        reached("clone:copying")
        src = _reader(src_url, lock_timeout=project.lock_timeout)
        try:
            tables = {k: t for k, t in read_tables(src).items() if k[0] not in SKIP_SCHEMAS}
            columns = _columns(tables, profile, masked)
            if masked:
                _require_rules(tables, columns, profile)
            row = src.execute("SELECT pg_export_snapshot()").fetchone()
            snapshot = str(row[0]) if row else ""
            salt = _salt(project, columns) if masked else None

            def reader() -> psycopg.Connection[Any]:
                return _reader(
                    src_url, snapshot=snapshot, salt=salt, lock_timeout=project.lock_timeout
                )

            rows, moved = _copy_all(reader, dst_url, tables, columns, progress)
            with postgres.connect(dst_url, autocommit=True) as dst:
                load.set_sequences(dst, load.read_sequences(src, list(tables.values())))
        finally:
            src.close()
        if progress:
            progress("building indexes and constraints (post-data)")
        restore_archive(schema, dst_url, jobs=2, section="post-data")
    return len(tables), rows, moved


WORKERS = 2  # parallel COPY streams of a logical clone (the target is not yet live)


def _reader(
    url: str, *, snapshot: str | None = None, salt: str | None = None, lock_timeout: float
) -> psycopg.Connection[Any]:
    """A read-only REPEATABLE READ connection, on ``snapshot`` when given.

    The masking salt goes in the startup options, never in a (logged) statement.
    """
    extra: dict[str, Any] = {} if salt is None else {"options": salt_options(url, salt)}
    conn = postgres.connect(url, autocommit=True, application_name="dbenv:clone:source", **extra)
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    if snapshot:
        if not snapshot.replace("-", "").isalnum():
            raise UsageError(f"unexpected snapshot id {snapshot!r} from the source.")
        conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'".encode())
    conn.execute(copy.SESSION)
    conn.execute(f"SET lock_timeout = '{max(1, int(lock_timeout * 1000))}ms'".encode())
    return conn


def _copy_all(
    reader: Callable[[], psycopg.Connection[Any]],
    dst_url: str,
    tables: dict[tuple[str, str], Any],
    columns: dict[tuple[str, str], list[MaskedColumn]],
    progress: Say | None,
) -> tuple[int, int]:
    """Copy every table, largest first, on WORKERS streams sharing the source snapshot."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    pending = sorted(tables.values(), key=lambda t: -t.size)
    lock, stop = threading.Lock(), threading.Event()
    live: list[psycopg.Connection[Any]] = []  # what a Ctrl-C must cancel

    def work() -> tuple[int, int]:
        rows = moved = 0
        with reader() as src, postgres.connect(dst_url, autocommit=True) as dst:
            live.extend((src, dst))
            dst.execute(copy.SESSION)
            while True:
                with lock:
                    if stop.is_set():
                        raise copy.Stopped
                    if not pending:
                        return rows, moved
                    info = pending.pop(0)
                if progress:
                    progress(f"copying {info.label}")
                query = copy.source_query(info, columns[info.key], None)
                r, b = copy.copy_table(src, dst, info, query)
                rows, moved = rows + r, moved + b

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(work) for _ in range(WORKERS)]
        try:
            done = [f.result() for f in futures]
        except BaseException:
            # Ctrl-C or a failed stream: the pool's exit waits for both, so stop them now
            stop.set()
            copy.cancel_until_done(live, futures)
            raise
    return sum(r for r, _ in done), sum(b for _, b in done)


def _columns(
    tables: dict[tuple[str, str], Any], profile: Profile | None, masked: bool
) -> dict[tuple[str, str], list[MaskedColumn]]:
    return {
        key: [
            MaskedColumn(
                c.name,
                c.data_type,
                c.not_null,
                c.unique,
                profile.rule(key[0], key[1], c.name) if (profile and masked) else None,
            )
            for c in info.columns
        ]
        for key, info in tables.items()
    }


def _require_rules(
    tables: dict[tuple[str, str], Any],
    columns: dict[tuple[str, str], list[MaskedColumn]],
    profile: Profile | None,
) -> None:
    missing = unmasked_personal([(tables[k].label, cols) for k, cols in columns.items()])
    if missing:
        where = (
            f"[sync.profiles.{profile.name}.mask]"
            if profile
            else "a [sync.profiles.NAME] for this source and target"
        )
        raise GuardRefusal(
            "refused to clone: columns look personal and have no masking rule:"
            f" {', '.join(missing)}.",
            check="masking",
            hint=f'Add rules in {where} (e.g. "public.clients.email" = "email";'
            ' "keep" when not personal).',
        )


def _salt(project: Project, columns: dict[tuple[str, str], list[MaskedColumn]]) -> str | None:
    """The plain masking salt when some rule uses it (raises when [sync] names none)."""
    if not any(
        c.rule and c.rule.kind not in ("keep", "null", "fixed")
        for cols in columns.values()
        for c in cols
    ):
        return None
    salt = load_settings(project).salt
    if salt is None:
        raise UsageError(
            "masking rules need a salt, and [sync] names none.",
            hint='Add salt = "env:DBENV_MASK_SALT" under [sync] and set that variable.',
        )
    return salt.reveal()
