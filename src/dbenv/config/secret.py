"""``Secret``: a string that masks itself everywhere and shows its value only on ``reveal()``.

A ``Secret`` masks itself in ``str``, ``repr``, f-strings and logging; ``MASK`` is
what a hidden value shows as. Below ``config/model.py`` and ``config/masking.py``
(which both use them) so neither has to import the other's module for them.
"""

from __future__ import annotations

from collections.abc import Callable

MASK = "****"

_REVEAL_WATCHERS: list[Callable[[str], None]] = []


def watch_reveals(watcher: Callable[[str], None]) -> None:
    """Call ``watcher`` with every plain value a ``Secret`` resolves to (once per secret).

    The CLI uses it to scrub the passwords of every URL used in a run from all it
    prints, whoever revealed them (a driver's error may quote one).
    """
    if watcher not in _REVEAL_WATCHERS:
        _REVEAL_WATCHERS.append(watcher)


class Secret:
    """A string that never shows itself unless asked with ``reveal()``.

    ``masked`` is computed without resolving anything, so printing a secret never
    runs a ``cmd:`` reference or reads a secret file.
    """

    __slots__ = ("_cache", "_masked", "_plain", "_resolve")

    def __init__(self, resolve: Callable[[], str] | str, *, masked: str = MASK) -> None:
        self._plain = resolve if isinstance(resolve, str) else None  # known without resolving
        if isinstance(resolve, str):
            plain = resolve
            self._resolve: Callable[[], str] = lambda: plain
        else:
            self._resolve = resolve
        self._masked = masked
        self._cache: str | None = None

    @property
    def masked(self) -> str:
        return self._masked

    def reveal(self) -> str:
        if self._cache is None:
            self._cache = self._resolve()
            for watcher in _REVEAL_WATCHERS:
                watcher(self._cache)
        return self._cache

    def __str__(self) -> str:
        return self._masked

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._masked!r})"

    def __format__(self, spec: str) -> str:
        return format(self._masked, spec)

    def __eq__(self, other: object) -> bool:
        # Comparing never resolves a reference (that could run a `cmd:` or read a
        # file): two secrets are equal when they are one, or both are plain values.
        if isinstance(other, Secret):
            if self is other:
                return True
            if self._plain is None or other._plain is None:
                return False
            return self._plain == other._plain and self._masked == other._masked
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._masked)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled; pass reveal() explicitly")


class SecretURL(Secret):
    """A database or Redis URL whose password (and secret parts) are masked."""

    __slots__ = ()


def plain_text(value: object) -> str:
    """A value as plain text, revealing a ``Secret`` (only for use, never for output)."""
    return value.reveal() if isinstance(value, Secret) else str(value)
