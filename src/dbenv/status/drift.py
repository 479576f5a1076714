"""The drift column of ``dbenv status``: an environment's schema against its ``reference``.

Drift is what ``dbenv diff REFERENCE ENV`` would plan: both databases are read
from their catalogs (``dbenv.diff``) on read-only sessions with short timeouts,
and the plan's statements counted. Nothing runs for an environment without a
``reference``; a reference named by several environments is read once per
status. It never raises: an unreachable reference, or one that cannot be read,
is reported in the row and the rest of the status goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dbenv.errors import DbenvError

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Environment
    from dbenv.diff.model import SchemaModel

__all__ = ["Drift", "DriftReader"]

READ_ONLY = "-c default_transaction_read_only=on -c lock_timeout=1000 -c statement_timeout=5000"


@dataclass(frozen=True)
class Drift:
    """One environment's drift from its reference environment."""

    reference: str
    statements: int | None = None  # what `dbenv diff REFERENCE ENV` plans; None: not known
    unplanned: int = 0  # differences in kinds of objects diff does not compare
    error: str | None = None

    @property
    def drifted(self) -> bool | None:
        if self.statements is None:
            return None
        return bool(self.statements or self.unplanned)


@dataclass
class DriftReader:
    """Reads schema models for one status call, each environment at most once."""

    project: Project
    timeout: int = 3
    _models: dict[str, SchemaModel | str] = field(default_factory=dict)

    def drift(self, env: Environment) -> Drift | None:
        """``env``'s drift from its reference; None when it names none."""
        if env.reference is None:
            return None
        name = env.reference
        try:
            reference = self.project.environment(name)
        except DbenvError as exc:
            return Drift(name, error=f"reference '{name}': {exc.message}")
        if env.isolation != "database" or reference.isolation != "database":
            return Drift(name, error="drift is compared for database isolation only")
        wanted = self._model(reference)
        if isinstance(wanted, str):
            return Drift(name, error=f"reference '{name}': {wanted}")
        current = self._model(env)
        if isinstance(current, str):
            return Drift(name, error=current)
        from dbenv.diff.plan import build_plan

        plan = build_plan(wanted, current)
        return Drift(name, len(plan.statements), len(plan.unplanned))

    def _model(self, env: Environment) -> SchemaModel | str:
        if env.name not in self._models:
            self._models[env.name] = self._read(env)
        return self._models[env.name]

    def _read(self, env: Environment) -> SchemaModel | str:
        """The environment's schema (dbenv's own schema left out), or why it could not be read."""
        from psycopg import Error

        from dbenv.backends import postgres
        from dbenv.diff.introspect import introspect
        from dbenv.diff.model import filter_model

        if env.database_url is None:
            return "no database URL"
        try:
            conn = postgres.connect(
                env.database_url,
                autocommit=True,
                connect_timeout=self.timeout,
                application_name=f"dbenv:{self.project.name}:{env.name}:status",
                options=READ_ONLY,
            )
        except DbenvError as exc:
            return exc.message
        try:
            return filter_model(introspect(conn))
        except Error as exc:
            return f"could not read its schema: {type(exc).__name__}"
        finally:
            conn.close()
