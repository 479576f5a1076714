"""Line numbers for TOML keys: tomllib gives values, this finds where each key sits.

A small scanner over the file's text: table headers (``[a.b]``, ``[[a.b]]``),
``key = value`` lines and dotted keys, skipping multi-line strings. Keys inside
an inline table fall back to the line of the key that holds the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

KeyPath = tuple[str, ...]

_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_HEADER = re.compile(rf"^\s*\[\[?\s*(?P<name>{_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"^\s*(?P<key>{_DOTTED})\s*=")
_SPLIT = re.compile(_PART)


def split_key(text: str) -> KeyPath:
    """``a."b.c".d`` -> ``("a", "b.c", "d")``."""
    parts = []
    for match in _SPLIT.finditer(text):
        part = match.group(0)
        if part[:1] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


@dataclass(frozen=True)
class KeyLines:
    """Where each key of a TOML document is defined (1-based lines)."""

    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    prefix: KeyPath = ()  # e.g. ("tool", "dbenv") inside pyproject.toml

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path`` (relative to ``prefix``), or of its nearest parent.

        A table only created implicitly (``[environments.test.vars]`` with no
        ``[environments.test]``) has no line of its own: the first line of a key
        under it stands for it.
        """
        full = self.prefix + tuple(path)
        while len(full) > len(self.prefix):
            if full in self.lines:
                return self.lines[full]
            inside = [n for key, n in self.lines.items() if key[: len(full)] == full]
            if inside:
                return min(inside)
            full = full[:-1]
        return self.lines.get(full)


def locate(text: str, *, prefix: KeyPath = ()) -> KeyLines:
    """Map every table header and key in ``text`` to its line number."""
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header:
            table = split_key(header.group("name"))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            path = table + split_key(key.group("key"))
            lines.setdefault(path, number)
            rest = line[key.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
    return KeyLines(lines, prefix)
