"""PostgreSQL backend: the one module that imports psycopg.

Connections are opened from a ``Secret``/string URL; errors become dbenv errors
whose messages never carry the password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbenv.config.masking import mask_url
from dbenv.config.model import Secret
from dbenv.errors import ConnectionFailed

if TYPE_CHECKING:
    import psycopg


def _plain(url: Secret | str) -> str:
    return url.reveal() if isinstance(url, Secret) else url


def connect(
    url: Secret | str,
    *,
    application_name: str | None = None,
    autocommit: bool = False,
    search_path: str | None = None,
    connect_timeout: int = 10,
    **kwargs: Any,
) -> psycopg.Connection[Any]:
    """Open a psycopg connection; a failure raises ``ConnectionFailed`` (masked)."""
    import psycopg

    plain = _plain(url)
    options: dict[str, Any] = {"connect_timeout": connect_timeout, **kwargs}
    if application_name:
        options["application_name"] = application_name[:63]
    if search_path:
        options["options"] = f"-c search_path={search_path}"
    try:
        return psycopg.connect(plain, autocommit=autocommit, **options)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if plain:
            reason = reason.replace(plain, mask_url(plain))
        raise ConnectionFailed(
            f"could not connect to {mask_url(plain)}: {reason}",
            hint="Check that the server is running and the URL is right (dbenv status).",
        ) from None
