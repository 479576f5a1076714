"""``dump`` and ``restore``: pg_dump / pg_restore run the way dbenv wants them run.

Passwords reach the tools through ``PGPASSWORD`` in their environment, never the
command line, a file or an error message. A dump is custom format (``-Fc``), or a
directory dumped in parallel (``-Fd -j N``) for large databases; it keeps the
source's ``dbenv`` schema so a copy stays recognisable as one, and an origin record
(``dbenv.sync.origin``) names the environment and tier it came from. A restore goes
through the guard, replaces the target database (dropped and created again with
its owner), restores in parallel without the dump's ``dbenv`` schema, and the
guard re-stamps the result as the *target* environment — never the source.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbenv.backends import children, postgres
from dbenv.backends.children import binary
from dbenv.config.masking import scrub
from dbenv.errors import GuardRefusal, OperationError, UsageError
from dbenv.safety.override import names_target
from dbenv.sync.origin import dump_origin, write_origin
from dbenv.testpoint import reached

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project
    from dbenv.config.model import Environment
    from dbenv.safety.guarded import Guarded

Say = Callable[[str], None]


@dataclass(frozen=True)
class DumpResult:
    environment: str
    path: str
    format: str  # custom | directory
    schema_only: bool
    bytes: int
    seconds: float
    origin: str = ""  # the origin record written beside (or inside) the dump


@dataclass(frozen=True)
class RestoreResult:
    environment: str
    path: str
    database: str
    jobs: int
    seconds: float


@dataclass(frozen=True)
class CloneResult:
    source: str
    target: str
    method: str  # template | logical
    strategy: str | None  # FILE_COPY | WAL_LOG (template) or None
    masked: bool
    tables: int
    rows: int
    bytes: int
    seconds: float


def tool_command(url: str) -> tuple[str, dict[str, str]]:
    """A password-free conninfo for ``-d`` and the child's environment with PGPASSWORD."""
    parts = postgres.url_parts(url)
    password = parts.pop("password", "")
    conninfo = " ".join(f"{k}='{_quote(v)}'" for k, v in parts.items())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if password:
        env["PGPASSWORD"] = password
    return conninfo, env


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def run_tool(args: Sequence[str], url: str, *, what: str) -> None:
    """Run pg_dump/pg_restore against ``url``; a failure is one masked sentence."""
    conninfo, env = tool_command(url)
    full = [*args, "--no-password", "-d", conninfo]
    done = children.run(full, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        password = postgres.url_parts(url).get("password", "")
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower()] or lines
        reason = scrub(errors[0] if errors else f"exit status {done.returncode}", [password])
        raise OperationError(
            f"{what} failed: {reason}.", hint="Run again with --debug for details."
        )


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


PARALLEL_ABOVE = 1 << 30  # a dump of more than 1 GiB of data goes parallel by default


MAX_JOBS = 64  # pg_dump/pg_restore open one connection per job: more only exhausts the server


def check_jobs(jobs: int) -> int:
    """``jobs`` when it is a sane ``-j`` for pg_dump or pg_restore (raises ``UsageError``)."""
    if not 1 <= jobs <= MAX_JOBS:
        raise UsageError(
            f"-j/--jobs must be from 1 to {MAX_JOBS}, not {jobs}.",
            hint="Each job is a connection to the server: e.g. -j 4.",
        )
    return jobs


def auto_jobs() -> int:
    import os

    return max(2, min(4, os.cpu_count() or 2))


def _database_size(url: str) -> int:
    with postgres.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def _database(env: Environment) -> tuple[str, str]:
    if env.database_url is None:
        raise UsageError(
            f"environment '{env.name}' has no database URL.",
            hint="Set database_url (or its parts) for it in dbenv.toml.",
        )
    url = env.database_url.reveal()
    return url, postgres.url_parts(url).get("dbname", "")


def dump(
    project: Project,
    env: Environment,
    *,
    output: Path | None = None,
    schema_only: bool = False,
    jobs: int | None = None,
    progress: Say | None = None,
) -> DumpResult:
    """pg_dump ``env`` to ``output`` (default ``<env>-<db>-<UTC>.dump`` in the project root).

    ``jobs`` unset: one job, except that the data of a database over
    ``PARALLEL_ABOVE`` bytes with no ``output`` named goes to a directory dump
    with ``auto_jobs()`` workers (what pg_dump can parallelise).
    """
    started = time.monotonic()
    if jobs is not None:
        check_jobs(jobs)
    url, database = _database(env)
    if jobs is None:
        large = output is None and not schema_only and _database_size(url) > PARALLEL_ABOVE
        jobs = auto_jobs() if large else 1
        if large and progress:
            progress(f"{database} is over {PARALLEL_ABOVE >> 30} GiB: {jobs} parallel jobs")
    fmt = "directory" if jobs > 1 else "custom"
    if output is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        suffix = "" if fmt == "directory" else ".dump"
        output = project.root / f"{env.name}-{database}-{stamp}{suffix}"
    if output.exists() and (fmt == "directory" or output.is_dir()):
        raise UsageError(
            f"{output} already exists.",
            hint="Name a new path with -o (a directory dump needs one).",
        )
    if not output.parent.is_dir():
        raise UsageError(
            f"the folder {output.parent} does not exist.", hint="Create it, or choose another -o."
        )
    args = [binary("pg_dump"), "-f", str(output)]
    args += ["-Fd", "-j", str(jobs)] if fmt == "directory" else ["-Fc"]
    if schema_only:
        args.append("--schema-only")
    if progress:
        progress(f"dumping {env.name} ({database}) to {output}")
    run_tool(args, url, what=f"dumping '{env.name}'")
    size = _size(output)  # before the record lands inside a directory dump
    record = write_origin(output, env, database)
    return DumpResult(
        env.name, str(output), fmt, schema_only, size, time.monotonic() - started, str(record)
    )


def restore(
    project: Project,
    path: Path,
    env: Environment,
    *,
    jobs: int = 2,
    no_mask: bool = False,
    override: str | None = None,
    progress: Say | None = None,
) -> RestoreResult:
    """Replace ``env``'s database by the dump at ``path`` (guarded), re-stamped as ``env``.

    A dump of a protected environment (its origin record, its stamp, or its
    database name tells) is refused into a disposable one: pg_restore cannot
    mask, so unmasked personal data would land there (``clone`` and ``sync``
    mask); ``no_mask`` with the override naming the target opts out.
    """
    from dbenv.safety import guard

    started = time.monotonic()
    check_jobs(jobs)
    if not path.exists():
        raise UsageError(
            f"no dump at {path}.", hint="Give the file (or directory) dbenv dump wrote."
        )
    _check_archive(path)
    url, database = _database(env)
    origin = _check_origin(project, path, env, database, no_mask=no_mask, override=override)
    arguments: dict[str, object] = {"file": str(path), "jobs": jobs}
    if origin is not None:
        arguments["from"] = origin[0]
        arguments["unmasked"] = origin[1] == "protected" and env.disposable
    with guard.destructive(
        project, env, "restore", override=override, arguments=arguments, progress=progress
    ) as g:

        def build(fresh: str) -> None:
            if progress:
                progress(f"restoring {path.name} into a copy of {database} ({jobs} jobs)")
            reached("restore:restoring")
            restore_archive(path, postgres.with_database(url, fresh), jobs=jobs)

        build_and_swap(g, database, build, phase="restore")
    return RestoreResult(env.name, str(path), database, jobs, time.monotonic() - started)


def build_and_swap(
    guarded: Guarded,
    database: str,
    build: Callable[[str], None],
    *,
    phase: str,
    template: str | None = None,
    how: str = "",
) -> None:
    """Build the new ``database`` aside with ``build(name)``, stamp it, swap it in.

    Until the swap the target is untouched: a failure or a kill before it leaves
    the old database (plus a leftover the next run drops); after it, the new one.
    """
    from dbenv.lifecycle import swap

    with postgres.connect(guarded.target.maintenance, autocommit=True) as maint:
        check_can_recreate(maint, database)
        fresh = swap.create_aside(maint, database, template=template, how=how)
        try:
            build(fresh)
            reached(f"{phase}:stamping")
            guarded.prepare_copy(fresh)
        except BaseException:
            swap.discard(maint, fresh)
            raise
        swap.swap_in(maint, database, fresh, phase=phase)
    guarded.database_recreated()


def _check_origin(
    project: Project,
    path: Path,
    env: Environment,
    database: str,
    *,
    no_mask: bool,
    override: str | None,
) -> tuple[str, str] | None:
    """The dump's origin; a protected one into a disposable ``env`` needs the opt-out."""
    origin = dump_origin(path, project)
    opted_out = no_mask and names_target(override or project.override_database, env, database)
    if origin is not None and origin[1] == "protected" and env.disposable and not opted_out:
        raise GuardRefusal(
            f"refused to restore {path.name} into '{env.name}': it is a dump of protected"
            f" environment '{origin[0]}', and a restore cannot mask its personal data.",
            check="masking",
            hint=f"Copy it masked with dbenv clone {origin[0]} {env.name} (or dbenv sync"
            f" {origin[0]} {env.name}), which apply the sync profile's masking rules, or"
            f" restore it unmasked with --no-mask --i-mean-it={database}.",
        )
    return origin


def restore_archive(path: Path, url: str, *, jobs: int, section: str | None = None) -> None:
    """pg_restore without owners or the dump's own ``dbenv`` schema."""
    args = [binary("pg_restore"), "--no-owner", "-N", "dbenv", "-j", str(max(jobs, 1))]
    if section:
        args.append(f"--section={section}")
    run_tool([*args, str(path)], url, what=f"restoring {path.name}")


def _check_archive(path: Path) -> None:
    if path.is_dir():
        if not (path / "toc.dat").exists():
            raise UsageError(
                f"{path} is not a pg_dump directory dump (no toc.dat).",
                hint="Give the path dbenv dump wrote.",
            )
        return
    with path.open("rb") as handle:
        if handle.read(5) != b"PGDMP":
            raise UsageError(
                f"{path} is not a pg_dump custom-format file.",
                hint="dbenv restore reads what dbenv dump (pg_dump -Fc) writes; load plain SQL"
                " with psql.",
            )


def check_can_recreate(maint: psycopg.Connection[Any], database: str) -> None:
    """Refuse (before anything is dropped) when this role may not drop and create it."""
    row = maint.execute(
        """SELECT r.rolsuper OR r.rolcreatedb,
                  r.rolsuper OR coalesce((SELECT pg_has_role(d.datdba, 'MEMBER')
                                          FROM pg_database d WHERE d.datname = %s), true)
           FROM pg_roles r WHERE r.rolname = current_user""",
        (database,),
    ).fetchone()
    if row is None or not (row[0] and row[1]):
        raise OperationError(
            f"the connecting role may not drop and re-create database '{database}'; nothing"
            " was changed.",
            hint="Give the environment an admin_url whose role owns the database and has"
            " CREATEDB (dbenv.toml).",
        )
