"""One sync run: plan from the source snapshot, then replace the target in one transaction.

The source is read inside a single ``REPEATABLE READ READ ONLY`` transaction, so
every table (and the checksums) come from one moment. The target goes through
the guard; within its connection one transaction holds the structure step, the
emptying of exactly the mirrored tables, the COPY streams, index and foreign-key
rebuilds, sequence values and the verification. Any failure — a checksum that
differs, a foreign key that does not hold, a killed client, a lost connection —
rolls it all back: readers see the old rows or the new, never half.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.errors import GuardRefusal, OperationError, UsageError
from dbenv.sync import copy, load
from dbenv.sync.catalog import TableInfo, read_tables
from dbenv.sync.masking import salt_options
from dbenv.sync.profiles import Profile
from dbenv.sync.results import (
    Options,
    Progress,
    StructureStep,
    SyncEvent,
    SyncResult,
    TableResult,
)
from dbenv.sync.selection import (
    Selection,
    check_masking,
    env_url,
    needs_salt,
    same_database,
    select,
)
from dbenv.sync.subset import check_conditions
from dbenv.testpoint import reached

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project
    from dbenv.config.model import Environment, Secret
    from dbenv.diff.plan import Plan


def _open_source(
    url: str,
    salt: Secret | None,
    needs_salt: bool,
    *,
    snapshot: str | None = None,
    lock_timeout: float,
) -> psycopg.Connection[Any]:
    extra: dict[str, Any] = {}
    if needs_salt:
        if salt is None:
            raise UsageError(
                "masking rules need a salt, and [sync] names none.",
                hint='Add salt = "env:DBENV_MASK_SALT" under [sync] and set that variable.',
            )
        extra["options"] = salt_options(url, salt.reveal())  # not a statement: never logged
    conn = postgres.connect(url, autocommit=True, application_name="dbenv:sync:source", **extra)
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    if snapshot is not None:  # a second reader of the very same moment
        if not snapshot.replace("-", "").isalnum():
            raise OperationError(f"unexpected snapshot id {snapshot!r} from the source.")
        conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'".encode())
    conn.execute(copy.SESSION)
    # a table locked on the source (a migration) fails the sync instead of stalling it
    conn.execute(f"SET lock_timeout = '{max(1, int(lock_timeout * 1000))}ms'".encode())
    return conn


def _plan_selection(
    project: Project, source: Environment, target: Environment, profile: Profile, options: Options
) -> tuple[str, str, Selection]:
    """URLs and the chosen tables, after every check that needs no target connection."""
    source_url, target_url = env_url(source), env_url(target)
    if source.name == target.name or same_database(source_url, target_url):
        raise UsageError(
            f"source '{source.name}' and target '{target.name}' are the same database.",
            hint="Sync between two different databases.",
        )
    with postgres.connect(source_url, autocommit=True) as probe:
        tables = read_tables(probe)
        chosen = select(profile, tables, masks=not options.no_mask)
        check_conditions(probe, chosen.mirror, profile.where)
    if not chosen.mirror and not chosen.structure:
        raise UsageError(
            f"sync profile '{profile.name}' selects no table of '{source.name}'.",
            hint="Check its mirror/structure patterns (schema.table, e.g. public.prompts).",
        )
    check_masking(project, source, target, chosen, options)
    return source_url, target_url, chosen


def run(
    project: Project,
    source: Environment,
    target: Environment,
    profile: Profile,
    salt: Secret | None,
    options: Options,
) -> SyncResult:
    """Sync ``profile``'s tables from ``source`` into ``target`` (see the module doc)."""
    from dbenv.safety import guard

    started = time.monotonic()
    source_url, target_url, chosen = _plan_selection(project, source, target, profile, options)
    arguments = {
        "source": source.name,
        "profile": profile.name,
        "mirror": [t.label for t in chosen.mirror],
        "structure": [t.label for t in chosen.structure],
        "masked": any(c.rule for cols in chosen.columns.values() for c in cols),
    }
    src = _open_source(source_url, salt, needs_salt(chosen), lock_timeout=project.lock_timeout)
    row = src.execute("SELECT pg_export_snapshot()").fetchone()
    snapshot = str(row[0]) if row else None

    def twin() -> psycopg.Connection[Any]:
        return _open_source(
            source_url,
            salt,
            needs_salt(chosen),
            snapshot=snapshot,
            lock_timeout=project.lock_timeout,
        )

    try:
        if options.dry_run:
            override = options.override or project.override_database
            guard.admit(project, target, "sync", override, arguments)
            return _dry_run(src, target_url, source, target, profile, chosen, started)
        emit = options.progress

        def waiting(text: str) -> None:
            if emit is not None:
                emit(SyncEvent("wait", message=text))

        with guard.destructive(
            project,
            target,
            "sync",
            override=options.override,
            arguments=arguments,
            progress=waiting,
        ) as guarded:
            result = _replace_or_explain(
                (src, twin), guarded.conn, source, target, profile, chosen, options
            )
            guarded.record({t.table: t.rows for t in result.tables if t.policy == "mirror"})
    finally:
        src.close()
    return replace(result, seconds=time.monotonic() - started)


def _replace_or_explain(
    sources: tuple[psycopg.Connection[Any], Callable[[], psycopg.Connection[Any]]],
    conn: psycopg.Connection[Any],
    source: Environment,
    target: Environment,
    profile: Profile,
    chosen: Selection,
    options: Options,
) -> SyncResult:
    """``_replace``, with a server error turned into one sentence (the rollback happened)."""
    try:
        return _replace(sources, conn, source, target, profile, chosen, options)
    except Exception as exc:
        reason = postgres.error_message(exc)
        if reason is None:
            raise
        raise OperationError(
            f"sync into '{target.name}' failed: {reason}; its tables were left as they were.",
            hint="Fix the cause and run it again (--debug shows the statement).",
        ) from exc


def _selector(chosen: Selection) -> Callable[[str, str], bool]:
    keys = {t.key for t in chosen.mirror} | {t.key for t in chosen.structure}
    return lambda schema, name: (schema, name) in keys


def _steps(plan: Plan) -> tuple[StructureStep, ...]:
    return tuple(StructureStep(s.sql, s.hazard, s.action, s.target) for s in plan.statements)


def _dry_run(
    src: psycopg.Connection[Any],
    target_url: str,
    source: Environment,
    target: Environment,
    profile: Profile,
    chosen: Selection,
    started: float,
) -> SyncResult:
    from dbenv.sync.structure import structure_plan

    with postgres.connect(target_url, autocommit=True) as tgt:
        plan = structure_plan(src, tgt, _selector(chosen))
    return SyncResult(
        source.name,
        target.name,
        profile.name,
        True,
        _planned(chosen),
        _steps(plan),
        masking=any(c.rule for cols in chosen.columns.values() for c in cols),
        seconds=time.monotonic() - started,
    )


def _planned(chosen: Selection) -> tuple[TableResult, ...]:
    results = [
        TableResult(
            t.label,
            "mirror",
            bytes=t.size,
            binary=t.binary,
            masked=tuple(
                f"{c.name}:{c.rule}"
                for c in chosen.columns[t.key]
                if c.rule and c.rule.kind != "keep"
            ),
            condition=chosen.conditions.get(t.key),
        )
        for t in chosen.mirror
    ]
    results += [TableResult(t.label, "structure") for t in chosen.structure]
    return tuple(results)


def _replace(
    sources: tuple[psycopg.Connection[Any], Callable[[], psycopg.Connection[Any]]],
    conn: psycopg.Connection[Any],
    source: Environment,
    target: Environment,
    profile: Profile,
    chosen: Selection,
    options: Options,
) -> SyncResult:
    from dbenv.diff.apply import apply_plan
    from dbenv.sync.structure import structure_plan

    src = sources[0]
    emit = options.progress or (lambda event: None)
    plan = structure_plan(src, conn, _selector(chosen))
    if plan.destructive and not options.allow_destructive:
        listed = "; ".join(f"{s.action} {s.target}" for s in plan.destructive[:5])
        raise GuardRefusal(
            f"refused to sync into '{target.name}': the structure step would lose data ({listed}).",
            check="destructive-structure",
            hint="Review it with --dry-run, then pass --allow-destructive.",
        )
    emit(SyncEvent("structure", rows=len(plan.statements)))
    # ALTER TYPE ... ADD VALUE (or an index built CONCURRENTLY) cannot share the
    # transaction, or its value be used in it: those, only additive, go first on their
    # own; everything else, destructive steps included, stays in the one transaction.
    alone = tuple(s for s in plan.statements if not s.transactional)
    if alone:
        apply_plan(conn, replace(plan, statements=alone))
    plan_in_tx = tuple(s for s in plan.statements if s.transactional)
    conn.autocommit = True
    with conn.transaction():
        conn.execute(copy.SESSION)
        conn.execute("SET LOCAL check_function_bodies = false")
        # index builds sort, foreign-key validation hash-joins: both spill to disk at
        # the 4 MB / 64 MB defaults on tables of a few hundred MB
        conn.execute("SET LOCAL work_mem = '128MB'; SET LOCAL maintenance_work_mem = '256MB'")
        for stmt in plan_in_tx:
            conn.execute(stmt.sql.encode())
        tables = _load(sources, conn, chosen, emit)
        sequences = load.set_sequences(conn, load.read_sequences(src, chosen.mirror))
        reached("sync:loaded")
        emit(SyncEvent("commit"))
    results = tables + [TableResult(t.label, "structure") for t in chosen.structure]
    return SyncResult(
        source.name,
        target.name,
        profile.name,
        False,
        tuple(results),
        _steps(plan),
        sequences,
        masking=any(c.rule for cols in chosen.columns.values() for c in cols),
    )


def _load(
    sources: tuple[psycopg.Connection[Any], Callable[[], psycopg.Connection[Any]]],
    conn: psycopg.Connection[Any],
    chosen: Selection,
    emit: Progress,
) -> list[TableResult]:
    """Empty, copy, rebuild; the source checksums run meanwhile on a twin connection."""
    from concurrent.futures import ThreadPoolExecutor

    src, twin = sources
    deferred = load.prepare(conn, chosen.mirror)
    queries = {
        info.key: copy.source_query(info, chosen.columns[info.key], chosen.conditions.get(info.key))
        for info in chosen.mirror
    }
    helper = twin()
    stop = threading.Event()

    def checksums() -> dict[tuple[str, str], copy.Checksum]:
        sums = {}
        for info in chosen.mirror:
            if stop.is_set():
                raise copy.Stopped
            sums[info.key] = copy.checksum(helper, queries[info.key], hashed=info.hashable)
        return sums

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            wanted = pool.submit(checksums)
            try:
                copied = [
                    _copy_one(src, conn, info, queries[info.key], emit) for info in chosen.mirror
                ]
                emit(SyncEvent("rebuild"))  # keys, indexes, foreign keys
                load.finish(conn, deferred)
                emit(SyncEvent("rebuilt"))
                sums = wanted.result()
            except BaseException:
                # Ctrl-C or a failure: the pool's exit waits for the thread, so stop it now
                stop.set()
                copy.cancel_until_done([helper], [wanted])
                raise
    finally:
        helper.close()
    return [
        _verify(conn, chosen, info, sums[info.key], rows, moved, emit)
        for info, rows, moved in copied
    ]


def _copy_one(
    src: psycopg.Connection[Any],
    conn: psycopg.Connection[Any],
    info: TableInfo,
    query: str,
    emit: Progress,
) -> tuple[TableInfo, int, int]:
    emit(SyncEvent("start", info.label, total_bytes=info.size))
    rows, moved = copy.copy_table(src, conn, info, query, on_bytes=_reporter(emit, info))
    emit(SyncEvent("done", info.label, bytes=moved, total_bytes=info.size, rows=rows))
    return info, rows, moved


def _reporter(emit: Progress, info: TableInfo) -> Callable[[int], None]:
    def report(moved: int) -> None:
        emit(SyncEvent("copy", info.label, bytes=moved, total_bytes=info.size))

    return report


def _verify(
    conn: psycopg.Connection[Any],
    chosen: Selection,
    info: TableInfo,
    want: copy.Checksum,
    rows: int,
    moved: int,
    emit: Progress,
) -> TableResult:
    emit(SyncEvent("verify", info.label, rows=rows))
    got = copy.checksum(conn, copy.target_query(info), hashed=info.hashable)
    if want != got:
        raise OperationError(
            f"{info.label} does not match the source after the copy (source {want.rows} rows,"
            f" target {got.rows}; checksums {want.digest} / {got.digest}); the target was left"
            " as it was.",
            hint="Run the sync again; if it repeats, report it with --debug output.",
        )
    masked = tuple(
        f"{c.name}:{c.rule}" for c in chosen.columns[info.key] if c.rule and c.rule.kind != "keep"
    )
    return TableResult(
        info.label,
        "mirror",
        got.rows,
        moved,
        got.digest,
        True,
        info.binary,
        masked,
        chosen.conditions.get(info.key),
    )
