"""Database and Redis URLs: validating, building from parts, and comparing places.

Small pure functions, the one place dbenv takes connection strings apart (as
psycopg's ``conninfo.py`` does for libpq's): ``target_of`` reduces a URL to the
``Place`` it points at — server + database — so two environments on the same
database can be told apart from two that only look different (``localhost`` vs
``127.0.0.1``, a default port left out); ``with_database`` points a URL at another
database of the same server. Passing a masked URL works too: the password plays
no part in a place. ``dbenv.target.Target`` (one environment's resolved target,
made once per operation) builds on these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit, urlunsplit

from dbenv.config.masking import mask_url
from dbenv.errors import InvalidURL

POSTGRES_SCHEME = re.compile(r"^postgres(ql)?(\+[a-z0-9_]+)?$", re.I)
REDIS_SCHEMES = ("redis", "rediss", "unix")
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", ""}
_ABSORBED = {"host", "hostaddr", "port", "user", "password", "dbname", "db"}


@dataclass(frozen=True)
class Place:
    """What a URL points at: server, database (or Redis db index), user, extra params."""

    host: str
    port: int
    database: str
    user: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    def same_database(self, other: Place) -> bool:
        """Same server and database (users and params do not matter)."""
        return (self.host, self.port, self.database) == (other.host, other.port, other.database)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


Target = Place  # its name before ``dbenv.target.Target`` (kept for ``dbenv.config.Target``)


def _host(raw: str) -> str:
    host = unquote(raw).lower()
    return "localhost" if host in _LOOPBACK else host


def _invalid(url: str, problem: str, what: str) -> InvalidURL:
    return InvalidURL(
        f"the {what} URL {mask_url(url)} {problem}.",
        hint="Fix the URL, e.g. postgresql://user@localhost:5432/app_test"
        if what == "database"
        else "Fix the URL, e.g. redis://localhost:6379/1",
    )


def _port(url: str, what: str, default: int, parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise _invalid(url, "has a port that is not an integer from 0 to 65535", what) from None
    return default if port is None else port


def target_of(url: str, *, parts: SplitResult | None = None) -> Place:
    """The server + database of a PostgreSQL or Redis URL (raises ``InvalidURL``).

    ``parts``: ``urlsplit(url)`` when the caller has it already (one parse).
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in REDIS_SCHEMES:
        return _redis_target(url)
    if not POSTGRES_SCHEME.match(scheme):
        raise _invalid(url, "does not start with postgresql:// (or a redis scheme)", "database")
    parts = parts or urlsplit(url)
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or parts.hostname or ""
    port_text = query.get("port")
    if port_text is not None and not port_text.isdigit():
        raise _invalid(url, "has a port that is not an integer", "database")
    port = int(port_text) if port_text else _port(url, "database", 5432, parts)
    user = query.get("user") or (unquote(parts.username) if parts.username else None)
    database = query.get("dbname") or unquote(parts.path.lstrip("/")) or user or ""
    params = {k: v for k, v in query.items() if k not in _ABSORBED}
    return Place(_host(host), port, database, user, params)


def with_database(url: str | SplitResult, database: str) -> str:
    """The same server and credentials (a ``postgresql://`` URL), another database."""
    parts = urlsplit(url) if isinstance(url, str) else url
    return urlunsplit(parts._replace(path="/" + quote(database, safe="")))


def password_of(url: str | SplitResult) -> str | None:
    """The password a PostgreSQL URL carries (``?password=`` wins, as in libpq), or None."""
    parts = urlsplit(url) if isinstance(url, str) else url
    query = dict(parse_qsl(parts.query))
    if "password" in query:
        return query["password"]
    return None if parts.password is None else unquote(parts.password)


def _redis_target(url: str) -> Place:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme.lower() == "unix":
        return Place(parts.path, 0, query.get("db", "0"), parts.username, {})
    port = _port(url, "Redis", 6379, parts)
    index = parts.path.strip("/") or query.get("db", "0")
    if not index.isdigit():
        raise _invalid(url, f"has a db index '{index}' that is not an integer", "Redis")
    params = {k: v for k, v in query.items() if k not in _ABSORBED}
    return Place(_host(parts.hostname or ""), port, index, parts.username, params)


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _check_encoding(url: str, what: str) -> None:
    """Refuse a user part with an unencoded ``/`` or ``@``, or a ``%`` that escapes nothing.

    Parsers would split such a URL elsewhere than the user meant, then quote a
    piece of the password in their error (a host, a port, a "percent-encoded
    token"); the message here masks it.
    """
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = re.split(r"[?#]", rest, maxsplit=1)[0]
    userinfo = authority.rpartition("@")[0]
    if "/" in userinfo or "@" in userinfo:
        problem = "has an unencoded '/' or '@' in its user or password"
        raise _invalid(url, problem + " (write them as %2F and %40)", what)
    if _BAD_ESCAPE.search(url):
        problem = "has a '%' that is not followed by two hex digits (write % as %25)"
        raise _invalid(url, problem, what)


def validate_database_url(url: str) -> None:
    """Raise ``InvalidURL`` (masked) unless ``url`` is a usable PostgreSQL URL."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if not POSTGRES_SCHEME.match(scheme):
        raise _invalid(url, "is not a postgresql:// URL", "database")
    _check_encoding(url, "database")
    target_of(url)


def validate_redis_url(url: str) -> None:
    """Raise ``InvalidURL`` (masked) unless ``url`` is a redis://, rediss:// or unix:// URL."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in REDIS_SCHEMES:
        raise _invalid(url, "is not a redis://, rediss:// or unix:// URL", "Redis")
    _check_encoding(url, "Redis")
    _redis_target(url)


def url_from_parts(
    *,
    host: str,
    port: int,
    database: str,
    user: str | None = None,
    password: str | None = None,
) -> str:
    """``postgresql://user:password@host:port/database`` with each part quoted."""
    auth = ""
    if user:
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        auth += "@"
    shown_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"postgresql://{auth}{shown_host}:{port}/{quote(database, safe='')}"


def socket_url(*, socket_dir: str, port: int, database: str, user: str) -> str:
    """A URL to a server listening on a unix socket directory."""
    return (
        f"postgresql://{quote(user, safe='')}@/{quote(database, safe='')}"
        f"?host={quote(socket_dir, safe='/')}&port={port}"
    )


def url_has_password(url: str) -> bool:
    """Whether a URL carries a password (in its user part or as ``?password=``)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    return ":" in userinfo or any(k == "password" for k, _ in parse_qsl(parts.query))


def url_with_password(url: str, password: str) -> str:
    """``url`` with ``password`` added: after its user, or as ``?password=`` without one."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and userinfo:
        netloc = f"{userinfo}:{quote(password, safe='')}@{hostport}"
        return parts._replace(netloc=netloc).geturl()
    query = "&".join(q for q in (parts.query, "password=" + quote(password, safe="")) if q)
    return parts._replace(query=query).geturl()


# --- the forms apps write: SQLAlchemy driver suffixes, postgres:// ----------------

# SQLAlchemy's PostgreSQL drivers an exported URL may name (``url+asyncpg``).
DRIVERS = ("asyncpg", "psycopg", "psycopg2", "pg8000")


def url_scheme(url: str) -> str:
    """The scheme as written (``postgresql+asyncpg``, ``postgres``), lower-cased."""
    return url.split("://", 1)[0].lower() if "://" in url else ""


def libpq_url(url: str) -> str:
    """The URL libpq and psycopg accept: ``postgresql://``, any driver suffix dropped.

    ``postgres://`` and ``postgresql+asyncpg://`` (the forms apps and SQLAlchemy
    write) name the same server and database; dbenv itself always connects with
    psycopg, so it works on this form. Anything that is not a URL is returned as is.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not POSTGRES_SCHEME.match(scheme):
        return url
    return f"postgresql://{rest}"


def with_scheme(url: str, scheme: str) -> str:
    """``url`` (any PostgreSQL form) written with ``scheme`` (``postgresql+asyncpg``)."""
    _, sep, rest = url.partition("://")
    return f"{scheme}://{rest}" if sep else url
