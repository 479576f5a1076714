"""The resolved target: one environment's place, made once per operation.

``Target.of(env)`` reads the environment's URLs once and keeps what the guard,
its checks, the stamp, the advisory lock, the operation and the journal each need:
the server (host and port, or a socket directory), the database, the scope (schema
or table prefix), the user, the masked form for messages and the maintenance
connection (``admin_url``, else the same server's ``postgres`` database). The
server's identity is added once the guard has read it (``with_identity``).

A destructive operation makes one ``Target`` and passes it down (``dbenv.safety.guard
.destructive(..., target=...)`` hands it on as ``Guarded.target``), so no module
below goes back up to turn the URL into a connection target again. Connection
strings are only taken apart by the pure functions of ``dbenv.config.urls``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from dbenv.config import urls
from dbenv.errors import ConfigError

if TYPE_CHECKING:
    from dbenv.config.model import Environment
    from dbenv.safety.identity import ServerIdentity

__all__ = ["Target"]


@dataclass(frozen=True)
class Target:
    """One environment's resolved place (the plain URLs never show in its repr)."""

    environment: str
    host: str  # lower-cased, loopback spelled ``localhost``; a socket's directory
    port: int
    database: str
    user: str | None
    isolation: str  # "database", "schema" or "prefix"
    scope: str | None  # the schema or table prefix; None: the whole database
    masked: str  # the URL as messages may show it
    url: str = field(repr=False)  # plain: only for connecting
    maintenance: str = field(repr=False)  # admin_url, else the URL on database postgres
    admin_url: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    identity: ServerIdentity | None = None  # what the server said it is, once read
    _parts: SplitResult | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, env: Environment) -> Target:
        """The environment's target (raises ``ConfigError`` without a database URL)."""
        if env.database_url is None:
            raise ConfigError(
                f"environment '{env.name}' has no database URL.",
                hint="Set database_url (or its parts) for it in dbenv.toml, or run dbenv up.",
            )
        url = env.database_url.reveal()
        parts = urlsplit(url)
        place = urls.target_of(url, parts=parts)
        admin = env.admin_url.reveal() if env.admin_url is not None else None
        scope = {"schema": env.schema, "prefix": env.prefix}.get(env.isolation)
        return cls(
            environment=env.name,
            host=place.host,
            port=place.port,
            database=place.database,
            user=place.user,
            isolation=env.isolation,
            scope=scope,
            masked=env.database_url.masked,
            url=url,
            maintenance=admin or urls.with_database(parts, "postgres"),
            admin_url=admin,
            password=urls.password_of(parts),
            _parts=parts,
        )

    @property
    def place(self) -> tuple[str, int, str] | None:
        """(host, port, database) to compare environments by URL; None when the
        masked URL does not say (a ``cmd:`` or ``env:`` reference).

        A unix socket and loopback may be the same server: a socket counts as localhost.
        """
        if "://" not in self.masked:
            return None
        host = "localhost" if self.host.startswith("/") else self.host
        return host, self.port, self.database

    @property
    def search_path(self) -> str | None:
        """The schema a schema-isolated environment's sessions work in."""
        return self.scope if self.isolation == "schema" else None

    def on(self, database: str) -> str:
        """The plain URL of another database on the same server, as the same role."""
        return urls.with_database(self._parts or self.url, database)

    def admin_on(self, database: str | None = None) -> str:
        """``admin_url`` pointed at ``database`` (default: the target's); else ``on``."""
        name = self.database if database is None else database
        if self.admin_url is None:
            return self.on(name)
        return urls.with_database(self.admin_url, name)

    def as_admin(self) -> Target:
        """The same target, reached as the admin (``admin_url``; without one, unchanged)."""
        if self.admin_url is None:
            return self
        return replace(self, url=self.admin_on(), _parts=None)

    def with_identity(self, identity: ServerIdentity | None) -> Target:
        """This target, knowing what its server said it is."""
        return self if identity is None else replace(self, identity=identity)

    def __str__(self) -> str:
        return self.masked
