"""``--verify``: does a found database password still work? (trufflehog's idea, fenced).

Opt-in. A URL credential is tried only when its host is one that a declared
environment names — the project's own servers, never a host merely written in a
file — with a 1-second connect: PostgreSQL read-only (``default_transaction_read_only``)
and closed at once; Redis a ``PING``. The verdict is ``live`` (the password was
accepted), ``rejected`` (authentication failed) or ``unreachable``; any other
URL is ``not tried``, with the reason. Nothing is written; the secret stays in
memory and every error is masked by the backends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from dbenv.errors import ConfigError, ConnectionFailed

if TYPE_CHECKING:
    from dbenv.doctor.files import HostIndex
    from dbenv.doctor.scan import Leak

__all__ = ["Verdict", "leak_key", "verdict", "verify_leaks"]

Verdict = Literal["live", "rejected", "unreachable", "not tried"]

_TIMEOUT = 1
_REJECTED = re.compile(
    r"(?i)password authentication failed|authentication failed|no pg_hba\.conf entry"
    r"|role .* does not exist|AuthenticationError|invalid password|WRONGPASS|NOAUTH"
)


def _postgres(url: str) -> Verdict:
    from dbenv.backends.postgres import connect

    plain = re.sub(r"^postgres(?:ql)?(?:\+[a-z0-9_]+)?://", "postgresql://", url, flags=re.I)
    try:
        conn = connect(
            plain,
            connect_timeout=_TIMEOUT,
            application_name="dbenv verify",
            options="-c default_transaction_read_only=on",
        )
    except ConnectionFailed as error:
        if re.search(r'database ".*" does not exist', error.message):
            return "live"  # the server took the password, then found no such database
        return "rejected" if _REJECTED.search(error.message) else "unreachable"
    conn.close()
    return "live"


def _redis(url: str) -> Verdict:
    from dbenv.backends.redis import ping

    try:
        ping(url, timeout=_TIMEOUT)
    except ConnectionFailed as error:
        return "rejected" if _REJECTED.search(error.message) else "unreachable"
    except ConfigError:
        return "unreachable"
    return "live"


def verdict(leak: Leak, index: HostIndex) -> tuple[Verdict, str]:
    """One URL credential's verdict and why (for a URL not tried: the reason)."""
    url = leak.hit.secret_url
    if leak.kind != "url-password" or not url:
        return "not tried", "only URL credentials can be tried"
    owners = index.owners(leak.hit.host or "")
    if not owners:
        return "not tried", "its host is not one a declared environment names"
    scheme = leak.key
    if scheme.startswith("postgres"):
        return _postgres(url), f"tried against {owners[0][0]}'s host"
    if scheme in {"redis", "rediss"}:
        return _redis(url), f"tried against {owners[0][0]}'s host"
    return "not tried", f"dbenv verifies PostgreSQL and Redis URLs, not {scheme}"


def leak_key(leak: Leak) -> tuple[str, int, str]:
    return str(leak.path), leak.line, f"{leak.key}@{leak.hit.host or ''}"


def verify_leaks(leaks: Iterable[Leak], index: HostIndex) -> dict[tuple[str, int, str], str]:
    """``leak_key(leak)`` -> ``"live (tried against production's host)"``."""
    return {
        leak_key(leak): "{} ({})".format(*verdict(leak, index))
        for leak in leaks
        if leak.kind == "url-password"
    }
