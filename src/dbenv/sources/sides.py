"""Resolve each side of a diff (environment, URL or schema source) and read its schema.

A schema source (``sqlalchemy:module:attr``, ``alembic:path/alembic.ini``,
``sql:file.sql``, ``cmd:COMMAND``) is materialised in a uniquely named scratch
database on a disposable server (``dbenv.sources.scratch``), introspected, and
dropped again, whatever happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dbenv.config.masking import mask_url
from dbenv.config.model import Environment, Secret
from dbenv.config.urls import POSTGRES_SCHEME, libpq_url, url_scheme
from dbenv.diff.model import SchemaModel
from dbenv.errors import ConfigError, OperationError, UsageError, optional_dependencies
from dbenv.sources.scratch import ScratchServer, scratch_database

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.sources.schema import SchemaSource

SOURCE_KINDS = ("sqlalchemy:", "sqlmodel:", "alembic:", "sql:", "cmd:")
SIDE_FORMS = (
    "Give an environment name, a postgresql:// URL, or a schema source "
    "(sqlalchemy:module:attr, alembic:path/alembic.ini, sql:file.sql, cmd:COMMAND)."
)


@dataclass(frozen=True)
class Side:
    """One side of a diff, resolved: where its schema comes from."""

    spec: str
    kind: str  # environment | url | schema source kind
    url: Secret | str | None = None
    env: Environment | None = None
    source: SchemaSource | None = None
    root: Path | None = None
    replica: int | None = None  # read from the environment's replica N (``--replica``)

    @property
    def label(self) -> str:
        if self.replica is not None:
            return f"{self.spec} (replica {self.replica})"
        return mask_url(self.spec) if self.kind == "url" else self.spec


def resolve_side(
    spec: str, *, project: Callable[[], Project] | None, root: Path | None = None
) -> Side:
    """Classify ``spec``; an environment name needs ``project`` to load the project file."""
    spec = spec.strip()
    if not spec:
        raise UsageError("a diff side is empty.", hint=SIDE_FORMS)
    if "://" in spec and POSTGRES_SCHEME.match(url_scheme(spec)):
        # the forms apps write (postgresql+asyncpg://) are read with psycopg
        return Side(spec, "url", url=libpq_url(spec))
    if spec.startswith(SOURCE_KINDS):
        from dbenv.sources.schema import parse_source

        base = root or _project_root(project)
        parsed = parse_source(spec, environment="diff", root=base)
        return Side(spec, parsed.kind, source=parsed, root=base)
    if spec.startswith("env:"):
        spec = spec[4:]
    if project is None:
        raise UsageError(
            f"'{spec}' is not a URL or schema source, and no project is loaded.", hint=SIDE_FORMS
        )
    env = project().environment(spec)
    if env.database_url is None:
        raise ConfigError(
            f"environment '{spec}' has no database_url to compare.",
            hint=f"Set database_url under [environments.{spec}] (dbenv config show).",
        )
    return Side(spec, "environment", url=env.database_url, env=env)


def _project_root(project: Callable[[], Project] | None) -> Path:
    from dbenv.errors import ProjectNotFound

    try:
        return project().root if project else Path.cwd()
    except ProjectNotFound:
        return Path.cwd()


def read_side(
    side: Side,
    *,
    scratch: ScratchServer | None,
    extensions: tuple[str, ...] = (),
    progress: Callable[[str], None] | None = None,
) -> SchemaModel:
    """Introspect a side; a schema source is built in a scratch database first.

    ``extensions``: created in the scratch database before the source is built, as
    ``dbenv provision`` creates them in the environment compared against; models
    do not declare them, so without this every one would show as drift.
    """
    from dbenv.backends import postgres
    from dbenv.diff.introspect import introspect

    if side.source is None:
        assert side.url is not None
        with postgres.connect(side.url, application_name="dbenv diff") as conn:
            return introspect(conn)
    if scratch is None:
        from dbenv.sources.scratch import HOW

        raise UsageError(
            f"{side.spec} is built in a scratch database on a disposable server, "
            "and none was chosen.",
            hint=HOW,
        )
    with scratch_database(scratch.url) as url:
        if progress:
            progress(f"building {side.spec} in a scratch database on {scratch.label}")
        if extensions:
            with postgres.connect(url, autocommit=True) as conn:
                for name in extensions:
                    quoted = '"' + name.replace('"', '""') + '"'
                    conn.execute(f"CREATE EXTENSION IF NOT EXISTS {quoted}".encode())
        _build(side.source, url, root=side.root or Path.cwd(), env=scratch.env)
        with postgres.connect(url, application_name="dbenv diff") as conn:
            return introspect(conn)


@optional_dependencies()
def _build(source: SchemaSource, url: str, *, root: Path, env: Environment | None) -> None:
    from dbenv.backends import postgres

    if source.runs_apart:
        from dbenv.sources.command import run_command
        from dbenv.sources.migrations import alembic_upgrade, check_scratch, scratch_environment

        # the scratch server's environment's variables, its database ones naming scratch
        builder = scratch_environment(env, root)
        if source.kind == "cmd":
            run_command(source, builder, url, cwd=root)
        else:
            alembic_upgrade(source, builder, url)
        check_scratch(url, builder, source)
        return
    with postgres.connect(url, autocommit=True) as conn:
        try:
            if source.kind == "sql":
                assert source.path is not None
                conn.execute(source.path.read_bytes())
            else:
                from dbenv.integrations.sqlalchemy import ddl_statements
                from dbenv.sources.schema import load_metadata

                for statement in ddl_statements(load_metadata(source, root)):
                    conn.execute(statement.encode())
        except Exception as exc:
            if isinstance(exc, ConfigError):
                raise
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise OperationError(
                f"building {source.spec} in a scratch database failed: {reason}.",
                hint="Load the same schema into an empty database by hand to see the full error.",
            ) from None
