"""Every error dbenv raises on purpose, under one root.

Only the CLI turns these into exit codes and messages; anything else that escapes
is a bug. A message says what was checked and what was found; ``hint`` says how
to fix it. Neither may ever contain a secret: build messages from masked values.

    DbenvError                    exit 1  an operation failed
    ├── ConfigError               exit 2  bad configuration or input
    │   ├── ProjectNotFound               no dbenv.toml / [tool.dbenv] found
    │   ├── ProjectFileError              malformed TOML, unknown or mistyped key
    │   ├── EnvFileError                  malformed .env line
    │   ├── UnknownEnvironment            an environment name not declared
    │   ├── InterpolationError            ${VAR} that nothing defines
    │   ├── SecretReferenceError          env:/file:/cmd: reference that failed
    │   ├── InvalidURL                    a database or Redis URL that does not parse
    │   ├── MissingVariables              required variables absent (all listed)
    │   ├── MissingDependency             an optional dependency not installed (names the extra)
    │   └── UsageError                    bad command-line input
    ├── GuardRefusal              exit 3  a destructive operation refused
    ├── ServerError               exit 1  a database or Redis server problem
    │   ├── BinariesNotFound              no PostgreSQL / Redis binaries
    │   ├── ServerStartError              a server that would not start
    │   └── ConnectionFailed              could not connect
    └── OperationError            exit 1  provision/reset/seed/sync/diff failed
        └── SeedDataError         exit 2  a bad seed file (file, table, row, column)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "BinariesNotFound",
    "ConfigError",
    "ConnectionFailed",
    "DbenvError",
    "EnvFileError",
    "GuardRefusal",
    "InterpolationError",
    "InvalidURL",
    "MissingDependency",
    "MissingVariables",
    "NoEnvironmentSelected",
    "OperationError",
    "ProjectFileError",
    "ProjectNotFound",
    "SecretReferenceError",
    "SeedDataError",
    "ServerError",
    "ServerStartError",
    "UnknownEnvironment",
    "UsageError",
    "missing_dependency",
    "optional_dependencies",
]


class DbenvError(Exception):
    """Root of dbenv's errors: a message (what was found) and a hint (the fix)."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: Path | str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = Path(path) if path is not None else None
        self.line = line

    @property
    def where(self) -> str | None:
        """``file:line`` (or just the file) the error points at, if any."""
        if self.path is None:
            return None
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def __str__(self) -> str:
        text = self.message
        if self.where and self.where not in text:
            text = f"{self.where}: {text}"
        if self.hint:
            text = f"{text} {self.hint}"
        return text


class ConfigError(DbenvError):
    exit_code = 2


class ProjectNotFound(ConfigError):
    pass


class ProjectFileError(ConfigError):
    pass


class EnvFileError(ConfigError):
    pass


class UnknownEnvironment(ConfigError):
    pass


class NoEnvironmentSelected(UnknownEnvironment):
    """No selector variable is set and the project has no default."""


class InterpolationError(ConfigError):
    pass


class SecretReferenceError(ConfigError):
    pass


class InvalidURL(ConfigError):
    pass


class MissingVariables(ConfigError):
    def __init__(self, environment: str, missing: list[str], **kwargs: object) -> None:
        self.environment = environment
        self.missing = list(missing)
        names = ", ".join(self.missing)
        super().__init__(
            f"environment '{environment}' is missing required variables: {names}.",
            hint=kwargs.pop("hint", None)  # type: ignore[arg-type]
            or "Set them in .env, .env."
            + environment
            + " or the process environment (see .env.example).",
        )


class UsageError(ConfigError):
    pass


class GuardRefusal(DbenvError):
    """A destructive operation refused; ``check`` names the failing check."""

    exit_code = 3

    def __init__(self, message: str, *, check: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.check = check


class ServerError(DbenvError):
    pass


class BinariesNotFound(ServerError):
    pass


class ServerStartError(ServerError):
    pass


class ConnectionFailed(ServerError):
    pass


class OperationError(DbenvError):
    pass


class SeedDataError(OperationError):
    exit_code = 2


class MissingDependency(ConfigError):
    """An optional dependency is not installed: the sentence names the extra that brings it."""


# optional dependency (top-level module) -> (its name, the dbenv extra that installs it)
OPTIONAL = {
    "sqlalchemy": ("SQLAlchemy", "sqlalchemy"),
    "alembic": ("Alembic", "sqlalchemy"),
    "greenlet": ("greenlet (SQLAlchemy's asyncio support)", "sqlalchemy"),
    "pgserver": ("pgserver", "embedded"),
}


def missing_dependency(error: ModuleNotFoundError) -> MissingDependency | None:
    """The one sentence for an optional dependency that is not installed, else None."""
    found = OPTIONAL.get((error.name or "").partition(".")[0])
    if found is None:
        return None
    name, extra = found
    return MissingDependency(
        f"{name} is not installed in this Python, and this needs it.",
        hint=f"Install dbenv's {extra} extra: pip install 'dbenv[{extra}]'.",
    )


@contextmanager
def optional_dependencies() -> Iterator[None]:
    """Turn an optional dependency's ModuleNotFoundError into ``MissingDependency``."""
    try:
        yield
    except ModuleNotFoundError as error:
        missing = missing_dependency(error)
        if missing is None:
            raise
        raise missing from None
