"""``clone``: replace the target database by a copy of the whole source database.

Two ways, chosen per run:

- *template*: both on one server, nothing else connected to the source and no
  masking needed — ``CREATE DATABASE ... TEMPLATE`` (``STRATEGY FILE_COPY`` for
  large sources, where a checkpoint and a file copy beat WAL-logging every block;
  ``WAL_LOG`` for small ones, which avoids the checkpoint);
- *logical*: otherwise — the source's pre-data schema via pg_dump/pg_restore, the
  rows streamed with COPY from one ``REPEATABLE READ`` snapshot with masking in the
  source query, then indexes and constraints (post-data) built once at the end.

Masking is required as for sync (protected source, disposable target), so such a
clone is always logical. The target goes through the guard and is re-stamped as
the target environment afterwards. The logical copy is in
``dbenv.sync.clone_logical``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.errors import GuardRefusal, OperationError, UsageError
from dbenv.safety.override import names_target
from dbenv.sync.clone_logical import Say, logical_clone, precheck_masking
from dbenv.sync.dump import (
    CloneResult,
    build_and_swap,
)
from dbenv.sync.profiles import Profile, load_settings

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project
    from dbenv.config.model import Environment
    from dbenv.safety.guarded import Guarded

FILE_COPY_ABOVE = 64 * 1024 * 1024  # bytes: past this a checkpoint + file copy beats WAL_LOG


def _url(env: Environment) -> str:
    if env.database_url is None:
        raise UsageError(
            f"environment '{env.name}' has no database URL.",
            hint="Set database_url (or its parts) for it in dbenv.toml.",
        )
    if env.isolation != "database":
        raise UsageError(
            f"clone copies whole databases; '{env.name}' uses {env.isolation} isolation.",
            hint="Use dbenv sync with a profile for schema or prefix environments.",
        )
    return env.database_url.reveal()


def _same_server(a: str, b: str) -> bool:
    pa, pb = postgres.url_parts(a), postgres.url_parts(b)
    return all(pa.get(k, "") == pb.get(k, "") for k in ("host", "port"))


def _mask_profile(project: Project, source: str, target: str) -> Profile | None:
    fitting = [
        p
        for p in load_settings(project).profiles.values()
        if (p.source, p.target) == (source, target)
    ]
    return fitting[0] if fitting else None


def clone(
    project: Project,
    source: Environment,
    target: Environment,
    *,
    method: str = "auto",
    no_mask: bool = False,
    override: str | None = None,
    progress: Say | None = None,
) -> CloneResult:
    """Replace ``target``'s database by a copy of ``source``'s (see the module doc)."""
    from dbenv.safety import guard
    from dbenv.sync.selection import masking_required

    started = time.monotonic()
    if method not in ("auto", "template", "logical"):
        raise UsageError(
            f"--method must be auto, template or logical, not '{method}'.",
            hint="e.g. --method logical.",
        )
    src_url, dst_url = _url(source), _url(target)
    src_db = postgres.url_parts(src_url).get("dbname", "")
    dst_db = postgres.url_parts(dst_url).get("dbname", "")
    if source.name == target.name or (_same_server(src_url, dst_url) and src_db == dst_db):
        raise UsageError(
            f"source '{source.name}' and target '{target.name}' are the same database.",
            hint="Clone into another environment.",
        )
    masked = masking_required(source, target) and not no_mask
    if (
        no_mask
        and masking_required(source, target)
        and not names_target(override or project.override_database, target, dst_db)
    ):
        raise GuardRefusal(
            f"refused to clone {source.name} -> {target.name} unmasked: data flows from a protected"
            " environment into a disposable one.",
            check="masking",
            hint=f"--no-mask needs the override naming the target: --i-mean-it={dst_db}.",
        )
    with postgres.connect(src_url, autocommit=True) as probe:
        size_row = probe.execute("SELECT pg_database_size(current_database())").fetchone()
        size = int(size_row[0]) if size_row else 0
        others = _other_sessions(probe, src_db)
    template_ok = _same_server(src_url, dst_url) and others == 0 and not masked
    if template_ok and method == "auto":
        # only a superuser may copy any database and hand every object of the copy
        # to the target's owner; anyone else gets the logical copy, which always can
        from dbenv.target import Target

        template_ok = _is_superuser(Target.of(target).maintenance)
    if method == "template" and not template_ok:
        why = (
            "masking is required"
            if masked
            else (
                f"{others} other session(s) are connected to '{src_db}'"
                if others
                else "the databases are on different servers"
            )
        )
        raise UsageError(
            f"a template clone is not possible: {why}.", hint="Use --method logical (or auto)."
        )
    use_template = template_ok and method != "logical"
    profile = _mask_profile(project, source.name, target.name) if masked else None
    if masked:
        precheck_masking(project, src_url, profile)
    arguments = {
        "source": source.name,
        "method": "template" if use_template else "logical",
        "masked": masked,
    }
    with guard.destructive(
        project, target, "clone", override=override, arguments=arguments, progress=progress
    ) as g:
        if use_template:
            strategy = _template_clone(g, src_db, dst_db, size, progress)
            g.record({"bytes": size})
            return CloneResult(
                source.name,
                target.name,
                "template",
                strategy,
                False,
                0,
                0,
                size,
                time.monotonic() - started,
            )
        counts: list[tuple[int, int, int]] = []

        def build(fresh: str) -> None:
            aside = postgres.with_database(dst_url, fresh)
            counts.append(logical_clone(project, src_url, aside, profile, masked, progress))

        build_and_swap(g, dst_db, build, phase="clone")
        count, rows, moved = counts[0]
        g.record({"tables": count, "rows": rows})
    return CloneResult(
        source.name,
        target.name,
        "logical",
        None,
        masked,
        count,
        rows,
        moved,
        time.monotonic() - started,
    )


def _other_sessions(conn: psycopg.Connection[Any], database: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (database,),
    ).fetchone()
    return int(row[0]) if row else 0


def _template_clone(
    guarded: Guarded, source: str, target: str, size: int, progress: Say | None
) -> str:
    """Copy ``source`` aside as a template, hand it to target's owner, swap it in."""
    maint_url = guarded.target.maintenance
    with postgres.connect(maint_url, autocommit=True) as maint:
        # before PostgreSQL 15 every template copy is a file copy
        small = size <= FILE_COPY_ABOVE and maint.info.server_version >= 150000
        modern = maint.info.server_version >= 150000
        owner = _owner_of(maint, target)
    strategy = "WAL_LOG" if small else "FILE_COPY"
    if progress:
        progress(f"cloning {source} into {target} (template, STRATEGY {strategy})")

    def build(fresh: str) -> None:
        _hand_over(postgres.with_database(maint_url, fresh), owner)

    try:
        build_and_swap(
            guarded,
            target,
            build,
            phase="clone",
            template=source,
            how=f" STRATEGY {strategy}" if modern else "",
        )
    except Exception as exc:
        reason = postgres.error_message(exc)
        if reason is None:
            raise
        raise OperationError(
            f"the template clone of '{source}' failed: {reason}; '{target}' was left as it was.",
            hint="Retry with --method logical, or stop what connects to the source.",
        ) from None
    return strategy


def _owner_of(maint: psycopg.Connection[Any], database: str) -> str:
    """The target's owner (the connecting role when it does not exist yet)."""
    row = maint.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
    ).fetchone()
    if row is not None:
        return str(row[0])
    me = maint.execute("SELECT current_user").fetchone()
    return str(me[0]) if me else ""


# Everything in the copy that the target's owner must own to use it as its own:
# schemas, relations, routines and types, not extension members, not the
# sequences and row types that follow their table, not what the database owner
# owns by definition (pg_database_owner: the public schema).
_FOREIGN_OWNED = r"""
WITH ext AS (SELECT classid, objid FROM pg_depend WHERE deptype = 'e'),
mine AS (SELECT oid FROM pg_roles WHERE rolname IN (%(owner)s, 'pg_database_owner'))
SELECT 'SCHEMA', quote_ident(n.nspname) FROM pg_namespace n
 WHERE n.nspowner NOT IN (SELECT oid FROM mine)
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND n.nspname NOT LIKE 'pg\_temp\_%%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%%'
   AND (n.oid) NOT IN (SELECT objid FROM ext WHERE classid = 'pg_namespace'::regclass)
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
       WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE'
       ELSE 'TABLE' END, c.oid::regclass::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
   AND c.relowner NOT IN (SELECT oid FROM mine)
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND c.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
   AND NOT (c.relkind = 'S' AND EXISTS (
       SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
       ELSE 'FUNCTION' END, p.oid::regprocedure::text
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE p.proowner NOT IN (SELECT oid FROM mine)
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND p.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_proc'::regclass)
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype::text
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd', 'r')
   AND t.typowner NOT IN (SELECT oid FROM mine)
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND t.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_type'::regclass)
"""


def _hand_over(url: str, owner: str) -> None:
    """Give the target's owner what the template copy kept of the source's owners.

    A template copy keeps every owner of the source: production's role would
    still own test's tables, and test's role could not use (or re-stamp) them.
    Per object, in one transaction: ``REASSIGN OWNED`` would also give away the
    databases those roles own, production's among them.
    """
    from dbenv.errors import OperationError

    quoted = '"' + owner.replace('"', '""') + '"'
    with postgres.connect(url) as conn:
        rows = conn.execute(_FOREIGN_OWNED, {"owner": owner}).fetchall()
        try:
            for kind, name in rows:
                conn.execute(f"ALTER {kind} {name} OWNER TO {quoted}".encode())
        except Exception as exc:
            reason = postgres.error_message(exc)
            if reason is None:
                raise
            raise OperationError(
                f"the template copy was made but its objects could not be handed to "
                f"'{owner}': {reason}.",
                hint="Retry with --method logical, or give the admin role membership in the "
                "source's owners.",
            ) from None
        conn.commit()


def _is_superuser(url: str) -> bool:
    with postgres.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])
