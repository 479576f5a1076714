"""Masking: the one place that decides what of a value may be shown.

Every output path (CLI, logs, errors, files dbenv writes) goes through these
functions. A URL keeps its scheme, user, host, port, database and db index and
loses its password; a secret-looking key or a value from a secret reference is
shown as ``****``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from dbenv.config.model import MASK

_SECRET_KEY = re.compile(
    r"(PASSWORD|PASSWD|PASS$|SECRET|TOKEN|(^|_)KEY$|API_?KEY|PRIVATE|CREDENTIAL|AUTH)",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^@/\s]+)(?=@)", re.I)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](password|sslpassword)=)(?P<pw>[^&\s]+)", re.I)


def is_secret_key(key: str) -> bool:
    """Whether a variable name looks like it holds a secret."""
    return bool(_SECRET_KEY.search(key))


def mask_url(url: str) -> str:
    """``scheme://user:****@host:port/db?...``: everything but the password."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{hostport}"
    masked = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return _QUERY_PASSWORD.sub(lambda m: m.group("head") + MASK, masked)


def mask_value(key: str, value: str, *, secret: bool = False) -> str:
    """How a variable's value may be shown: all of it hidden under a secret-looking key
    (a webhook URL named ``*_SECRET`` is a secret as a whole), else URL passwords."""
    if secret or is_secret_key(key):
        return MASK
    if "://" in value:
        return mask_url(value)
    return value


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of the given plain secrets (and URL passwords)."""
    for plain in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(plain, MASK)
    return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
