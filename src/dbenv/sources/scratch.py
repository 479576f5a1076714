"""Choose the disposable server a schema source is built on, and refuse any other.

A schema source side (``sqlalchemy:``, ``alembic:``, ``sql:``) is built in a
scratch database, so dbenv creates and drops a database on some server. That
server must be one the user calls disposable. In order:

1. ``--scratch ENV|URL``: the user named it, so it is used whatever its tier;
2. a side of the diff that is a disposable environment;
3. the project's ``test`` environment, when disposable;
4. any other disposable environment (local-stack ones first: their URLs exist
   only while ``dbenv up`` runs).

It must never pick a protected environment's server, nor a bare URL's server,
on its own: ``dbenv diff sqlalchemy:app.models:Base.metadata production`` would
otherwise create databases on production with the application's credentials.
When nothing qualifies the diff stops before touching any server.

The scratch databases themselves (``scratch_database``) are named with the
``SCRATCH`` prefix and held by an advisory lock while in use, so one a killed
diff left is told apart from one in use (``dbenv status``'s leftovers).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends.postgres import lock_key
from dbenv.config.masking import mask_url
from dbenv.config.model import Environment, Secret
from dbenv.errors import ConfigError, DbenvError, OperationError, ProjectNotFound, UsageError

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project
    from dbenv.sources.sides import Side

SCRATCH = "dbenv_diff_scratch_"  # the prefix of every scratch database's name
HOW = (
    "Pass --scratch with a disposable environment or an admin URL "
    "(e.g. --scratch postgresql://postgres@localhost/postgres), "
    'or declare a disposable environment (tier = "disposable") in dbenv.toml.'
)


@dataclass(frozen=True)
class ScratchServer:
    """Where scratch databases go: a URL that may create databases, and what it is."""

    url: Secret | str
    label: str  # "environment 'test'" or a masked URL
    # the disposable environment it belongs to: an Alembic source is migrated with its
    # variables (dbenv.sources.migrations), its database variables naming the scratch database
    env: Environment | None = None


def choose_scratch(
    sides: Iterable[Side],
    *,
    scratch: Secret | str | None,
    project: Callable[[], Project] | None,
) -> ScratchServer | None:
    """The scratch server for the sides that are schema sources (None: none needs one).

    Raises ``UsageError`` (exit 2) when a side needs one and no disposable server
    is configured, before any server is contacted.
    """
    sides = tuple(sides)
    needing = [s for s in sides if s.source is not None]
    if not needing:
        return None
    if scratch is not None:
        return _named(scratch, project)
    found = _disposable_side(sides) or _disposable_environment(project)
    if found is None:
        raise UsageError(
            f"{needing[0].spec} is built in a scratch database on a disposable server, "
            "and no disposable server is configured.",
            hint=HOW,
        )
    return found


def _named(scratch: Secret | str, project: Callable[[], Project] | None) -> ScratchServer:
    """``--scratch``: a URL as given, or an environment by name (whatever its tier)."""
    if isinstance(scratch, Secret):
        return ScratchServer(scratch, scratch.masked)
    text = scratch.strip()
    if text.startswith(("postgresql://", "postgres://")):
        return ScratchServer(text, mask_url(text))
    name = text.removeprefix("env:")
    if project is None or not name:
        raise UsageError(
            f"--scratch '{name}' is not a postgresql:// URL, and no project is loaded.",
            hint=HOW,
        )
    server = _server_of(project().environment(name))
    if server is None:
        raise ConfigError(
            f"--scratch names environment '{name}', which has no database_url or admin_url.",
            hint=f"Set admin_url under [environments.{name}], or pass --scratch with a URL.",
        )
    return server


def _server_of(env: Environment) -> ScratchServer | None:
    url = env.admin_url or env.database_url
    return ScratchServer(url, f"environment '{env.name}'", env) if url is not None else None


def _disposable_side(sides: tuple[Side, ...]) -> ScratchServer | None:
    for side in sides:
        if side.env is not None and side.env.disposable:
            server = _server_of(side.env)
            if server is not None:
                return server
    return None


def _disposable_environment(project: Callable[[], Project] | None) -> ScratchServer | None:
    if project is None:
        return None
    try:
        loaded = project()
    except ProjectNotFound:  # no project file: nothing is configured
        return None
    candidates = []
    for name in loaded.environment_names:
        try:
            env = loaded.environment(name)
        except DbenvError:  # an environment that does not resolve cannot host anything
            continue
        if env.disposable and (env.admin_url or env.database_url) is not None:
            candidates.append(env)
    candidates.sort(key=lambda e: (e.name != "test", e.server != "local"))
    return _server_of(candidates[0]) if candidates else None


@contextmanager
def scratch_database(server_url: Secret | str) -> Iterator[str]:
    """Create a uniquely named database on ``server_url``'s server; drop it on exit.

    The session that created it holds an advisory lock named after it until it is
    dropped, so scratch databases nobody holds — left by a killed diff — are told
    apart from those of diffs still running, and dropped first.
    """
    import psycopg

    from dbenv.backends import postgres

    name = f"{SCRATCH}{uuid.uuid4().hex[:12]}"
    admin = postgres.with_database(server_url, "postgres")
    with postgres.connect(admin, autocommit=True, application_name="dbenv diff") as conn:
        _reap_scratch(conn)
        conn.execute("SELECT pg_advisory_lock(%s)", [lock_key(name)])
        try:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        except psycopg.Error as exc:
            reason = (exc.diag.message_primary or type(exc).__name__).strip()
            raise OperationError(
                f"could not create a scratch database on {mask_url(admin)}: {reason}.",
                hint="Pass --scratch with a role that may create databases "
                "(or set admin_url on the disposable environment).",
            ) from None
        try:
            yield postgres.with_database(server_url, name)
        finally:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _reap_scratch(conn: psycopg.Connection[Any]) -> None:
    """Drop scratch databases whose diff is gone (nobody holds their lock)."""
    import psycopg

    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE left(datname, %s) = %s",
        [len(SCRATCH), SCRATCH],
    ).fetchall()
    for (name,) in rows:
        key = lock_key(name)
        held = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
        if not (held and held[0]):
            continue  # a diff running now
        try:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        except psycopg.Error:
            pass  # not ours to drop (another role's): left to its owner
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [key])
