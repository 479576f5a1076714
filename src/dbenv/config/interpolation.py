"""``${VAR}`` / ``${VAR:-default}`` interpolation across the layered variables.

Lower layers may reference variables defined in higher ones, because expansion
runs after layering. ``$$`` is a literal ``$``. Values given by the process
environment or as arguments are taken literally (a password may contain ``$``).
A value built from a secret (a reference, or a secret-looking variable) becomes a
``Secret`` whose mask is computed from its pieces, without resolving anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TypeAlias

from dbenv.config.dotenv_files import RawValue
from dbenv.config.masking import is_secret_key
from dbenv.config.model import MASK, Origin, Secret
from dbenv.config.references import env_target
from dbenv.errors import InterpolationError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_USES = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
MakeSecret = Callable[[str, Origin], Secret | None]
Parts = tuple[tuple[str, Origin], ...]


@dataclass(frozen=True)
class Resolved:
    """A variable or setting after interpolation and reference detection."""

    value: str | Secret
    origin: Origin
    secret: bool = False
    parts: Parts = ()

    @property
    def masked(self) -> str:
        if isinstance(self.value, Secret):
            return self.value.masked
        return MASK if self.secret else self.value

    def plain(self) -> str:
        return self.value.reveal() if isinstance(self.value, Secret) else self.value


_Piece: TypeAlias = str | tuple[str, Resolved]


class MissingVariable(Exception):
    """Internal: a ``${VAR}`` naming a variable the environment lists as required."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _where(origin: Origin) -> str:
    return f"{origin.source}:{origin.line}" if origin.line else str(origin)


def _error(origin: Origin, message: str, hint: str) -> InterpolationError:
    path = origin.source if origin.kind in ("project", "dotenv") else None
    return InterpolationError(
        f"{_where(origin)}: {message}", hint=hint, path=path, line=origin.line if path else None
    )


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` whose body starts at ``start``."""
    depth = 1
    index = start
    while index < len(text):
        if text.startswith("${", index):
            depth += 1
            index += 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


class Resolver:
    """Expands variables on demand, memoised, detecting cycles."""

    def __init__(
        self,
        raw: Mapping[str, RawValue],
        *,
        make_secret: MakeSecret,
        required: frozenset[str] = frozenset(),
        references: Iterable[str] = (),
        passwords: Iterable[str] = (),
    ) -> None:
        """``references``: other texts that may be ``env:`` references or hold URLs
        (setting values); ``passwords``: texts that are passwords as a whole."""
        self._raw = raw
        self._make_secret = make_secret
        self._required = required
        self._done: dict[str, Resolved] = {}
        self._stack: list[str] = []
        self.used: set[str] = set()  # every variable some value referenced
        self.secret_names: set[str] = _secret_sources(raw, tuple(references), tuple(passwords))

    def _is_secret(self, key: str) -> bool:
        return is_secret_key(key) or key in self.secret_names

    def variable(self, name: str) -> Resolved | None:
        """The resolved variable, or None when no layer defines it."""
        if name in self._done:
            return self._done[name]
        raw = self._raw.get(name)
        if raw is None:
            return None
        if name in self._stack:
            chain = " -> ".join([*self._stack[self._stack.index(name) :], name])
            raise _error(raw.origin, f"interpolation cycle {chain}.", "Break the cycle.")
        self._stack.append(name)
        try:
            resolved = self.expand(
                raw.text,
                raw.origin,
                key=name,
                literal=raw.literal,
                references=not _schema_source(name),
            )
        finally:
            self._stack.pop()
        self._done[name] = resolved
        return resolved

    def plain(self, name: str) -> str | None:
        """A variable's plain value (revealing it), for ``env:`` references."""
        resolved = self.variable(name)
        return None if resolved is None else resolved.plain()

    def raw(self, name: str) -> RawValue | None:
        """The winning raw value of a variable, before interpolation."""
        return self._raw.get(name)

    def expand(
        self,
        text: str,
        origin: Origin,
        *,
        key: str,
        literal: bool = False,
        references: bool = True,
    ) -> Resolved:
        """Interpolate ``text`` (unless literal), then detect a secret reference."""
        pieces: list[_Piece] = [text] if literal else self._pieces(text, origin)
        parts = tuple(dict.fromkeys((p[0], p[1].origin) for p in pieces if isinstance(p, tuple)))
        if not any(isinstance(p, tuple) and p[1].secret for p in pieces):
            plain = "".join(_plain(p) for p in pieces)
            reference = self._make_secret(plain, origin) if references else None
            if reference is not None:
                kind = plain.split(":", 1)[0]
                target = env_target(plain)
                if target is not None:  # built by interpolation, so the scan missed it
                    self.secret_names.add(target)
                return Resolved(reference, replace(origin, reference=kind), True, parts)
            return Resolved(plain, origin, self._is_secret(key), parts)
        masked = "".join(p if isinstance(p, str) else p[1].masked for p in pieces)
        frozen = tuple(pieces)

        def reveal() -> str:
            return "".join(_plain(p) for p in frozen)

        return Resolved(Secret(reveal, masked=masked), origin, True, parts)

    def _pieces(self, text: str, origin: Origin) -> list[_Piece]:
        pieces: list[_Piece] = []
        literal: list[str] = []
        index = 0
        while index < len(text):
            if text.startswith("$$", index):
                literal.append("$")
                index += 2
                continue
            if not text.startswith("${", index):
                literal.append(text[index])
                index += 1
                continue
            end = _closing_brace(text, index + 2)
            if end < 0:
                raise _error(origin, "unclosed '${' in value.", "Close it with '}' or write $$.")
            body = text[index + 2 : end]
            name, sep, default = body.partition(":-")
            if not _NAME.fullmatch(name):
                raise _error(
                    origin,
                    f"'${{{body}}}' is not a valid reference.",
                    "Use ${NAME} or ${NAME:-default}; write $$ for a literal '$'.",
                )
            if literal:
                pieces.append("".join(literal))
                literal = []
            pieces.extend(self._lookup(name, default if sep else None, origin))
            index = end + 1
        if literal:
            pieces.append("".join(literal))
        return pieces

    def _lookup(self, name: str, default: str | None, origin: Origin) -> list[_Piece]:
        self.used.add(name)
        resolved = self.variable(name)
        empty = resolved is None or resolved.value == ""
        if default is not None and empty:
            return self._pieces(default, origin)
        if resolved is not None:
            return [(name, resolved)]
        if name in self._required:
            raise MissingVariable(name)
        raise _error(
            origin,
            f"${{{name}}} is not defined in any layer.",
            f"Set {name} in .env, the environment's env file or the process environment, "
            f"or write ${{{name}:-default}}.",
        )


def _schema_source(name: str) -> bool:
    # DBENV_TEST_SCHEMA_SOURCE=env:staging names an environment, not a secret
    return name.startswith("DBENV_") and name.endswith("_SCHEMA_SOURCE")


def _secret_sources(
    raw: Mapping[str, RawValue], texts: tuple[str, ...], passwords: tuple[str, ...]
) -> set[str]:
    """Variables that hold a secret whatever their names, and the variables they use.

    A variable read by an ``env:`` reference (``STAGING_PW`` read by
    ``DB_PASSWORD = "env:STAGING_PW"``), or interpolated where a password goes (a
    URL's ``user:${DB_PW}@``, a ``password=${X}`` parameter, a secret-named
    variable or the ``password`` setting), becomes a password: it is masked, and
    anything interpolating it becomes a ``Secret``.
    """
    values = [(k, v.text) for k, v in raw.items() if not v.literal and not _schema_source(k)]
    candidates = [*texts, *(text for _, text in values)]
    pending = [t for t in map(env_target, candidates) if t is not None]
    for text in candidates:
        pending.extend(password_names(text, raw))
    for text in (*passwords, *(text for key, text in values if is_secret_key(key))):
        pending.extend(_USES.findall(text))
    found: set[str] = set()
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        value = raw.get(name)
        if value is not None and not value.literal:
            pending.extend(_USES.findall(value.text))
    return found


_HOLE = "\ue000"  # stands for one ${...} while looking for password positions
_URL_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?P<info>[^/?#@\s]*)@")
_PASSWORD_PARAM = re.compile(r"(?:^|[?&\s])(?:ssl)?password\s*=\s*(?P<value>[^&\s]*)", re.I)


def password_names(text: str, raw: Mapping[str, RawValue]) -> list[str]:
    """The variables ``text`` interpolates where a password goes.

    That is after the ``:`` of a URL's ``user:password@`` (or the whole user part,
    when a variable there holds ``user:password``), or in a ``password=`` parameter
    of a URL's query or a libpq ``key=value`` string.
    """
    holes: dict[int, str] = {}  # position in the skeleton -> body of the ${...}
    skeleton: list[str] = []
    index = 0
    while index < len(text):
        end = _closing_brace(text, index + 2) if text.startswith("${", index) else -1
        if end < 0 and text.startswith("${", index):
            break  # unclosed: interpolation reports it; nothing after it is a hole
        if end < 0:
            skeleton.append(text[index])
            index += 1
            continue
        holes[len(skeleton)] = text[index + 2 : end]
        skeleton.append(_HOLE)
        index = end + 1
    if not holes:
        return []
    shape = "".join(skeleton)
    names: list[str] = []

    def take(start: int, stop: int, *, only_pairs: bool = False) -> None:
        for position, body in holes.items():
            if start <= position < stop:
                used = _USES.findall("${" + body)
                if only_pairs:
                    used = [n for n in used if n in raw and ":" in raw[n].text]
                names.extend(used)

    for match in _URL_USERINFO.finditer(shape):
        info_start, info_end = match.span("info")
        colon = shape.find(":", info_start, info_end)
        if colon < 0:
            take(info_start, info_end, only_pairs=True)
        else:
            take(colon + 1, info_end)
    for match in _PASSWORD_PARAM.finditer(shape):
        take(*match.span("value"))
    return names


def _plain(piece: _Piece) -> str:
    return piece if isinstance(piece, str) else piece[1].plain()
