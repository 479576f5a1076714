"""Masking: the one place that decides what of a value may be shown.

Every output path (CLI, logs, errors, files dbenv writes) goes through these
functions. A URL keeps its scheme, user, host, port, database and db index and
loses its password; a secret-looking key or a value from a secret reference is
shown as ``****``; a libpq ``key=value`` string loses its ``password=``.

Passwords are found the way a careless user may write them, not only the way a
parser accepts them: the user part of a URL ends at its last ``@`` before the
query, so an unencoded ``/``, ``@`` or ``%`` in a password is masked too. Every
function here runs in time linear in its input (a megabyte variable must not
hang ``config show``): no regular expression that can backtrack over a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dbenv.config.secret import MASK

_SECRET_KEY = re.compile(
    r"(PASSWORD|PASSWD|PASS$|(^|_)PWD?(_|$)|SECRET|TOKEN|(^|_)KEY$|API_?KEY|PRIVATE|CREDENTIAL|AUTH)",
    re.IGNORECASE,
)
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
# ?password=... in a URL query, password=... / sslpassword=... in a libpq key=value string
_PARAM_PASSWORD = re.compile(
    r"(?P<head>(?:^|(?<=[?&\s]))(?:ssl)?password\s*=\s*)"
    r"(?P<pw>'(?:[^'\\]|\\.)*'?|[^&\s]+)",
    re.I,
)
_TOKEN = re.compile(r"\S+")
_MIN_SECRET = 3  # shorter "secrets" would mask ordinary words and digits


def is_secret_key(key: str) -> bool:
    """Whether a variable name looks like it holds a secret."""
    return bool(_SECRET_KEY.search(key))


def _authority_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The password of ``user:password@`` in ``text[start:end]`` (after a ``://``)."""
    stop = end
    for mark in ("?", "#"):
        found = text.find(mark, start, end)
        if found >= 0:
            stop = min(stop, found)
    at = text.rfind("@", start, stop)
    colon = text.find(":", start, at) if at >= 0 else -1
    return (colon + 1, at) if colon >= 0 else None


def _url_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Password spans of every ``scheme://user:password@`` in a whitespace-free token."""
    marks = []
    search = start
    while (found := text.find("://", search, end)) >= 0:
        marks.append(found)
        search = found + 3
    spans = []
    for i, mark in enumerate(marks):
        stop = marks[i + 1] if i + 1 < len(marks) else end
        if stop < end:  # the next URL's scheme belongs to the next URL
            while stop > mark + 3 and text[stop - 1] in _SCHEME_CHARS:
                stop -= 1
        span = _authority_span(text, mark + 3, stop)
        if span is not None:
            spans.append(span)
    return spans


def _password_spans(text: str) -> list[tuple[int, int]]:
    """Where passwords are in ``text``: URL passwords and ``password=`` values, in order."""
    spans: list[tuple[int, int]] = []
    if "://" in text:
        for token in _TOKEN.finditer(text):
            word = token.group()
            if "://" in word and "@" in word:  # no user part without an @
                spans.extend(_url_spans(text, token.start(), token.end()))
    if "password" in text.lower():
        spans.extend(m.span("pw") for m in _PARAM_PASSWORD.finditer(text))
    merged: list[tuple[int, int]] = []
    for begin, finish in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(finish, merged[-1][1]))
        else:
            merged.append((begin, finish))
    return merged


def mask_passwords(text: str) -> str:
    """Free text with every URL password and ``password=`` value masked."""
    spans = _password_spans(text)
    if not spans:
        return text
    pieces = []
    last = 0
    for begin, finish in spans:
        pieces += [text[last:begin], MASK]
        last = finish
    pieces.append(text[last:])
    return "".join(pieces)


def mask_url(url: str) -> str:
    """``scheme://user:****@host:port/db?...``: everything but the password."""
    return mask_passwords(url)


def mask_value(key: str, value: str, *, secret: bool = False) -> str:
    """How a variable's value may be shown: all of it hidden under a secret-looking key
    (a webhook URL named ``*_SECRET`` is a secret as a whole), else its passwords."""
    if secret or is_secret_key(key):
        return MASK
    return mask_passwords(value)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of the given plain secrets, then every password."""
    plains = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)
    if plains:
        text = re.compile("|".join(map(re.escape, plains))).sub(MASK, text)
    return mask_passwords(text)


def password_forms(text: str) -> list[str]:
    """The passwords in a URL or ``key=value`` string, as written and percent-decoded.

    The CLI scrubs these from everything it prints once the URL is revealed, so a
    driver's error quoting a password (``invalid percent-encoded token``) cannot
    show it.
    """
    from urllib.parse import unquote

    written = [text[begin:finish] for begin, finish in _password_spans(text)]
    forms = {f for w in written for f in (w, w.strip("'"), unquote(w), unquote(w.strip("'")))}
    return sorted(f for f in forms if len(f) >= _MIN_SECRET)
