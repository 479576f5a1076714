"""The file formats ``dbenv env`` writes: dotenv, json, shell and Docker's ``--env-file``.

Each encoder takes the variables ``dbenv run`` would give a child (name -> value,
in order) and returns the text, or raises ``UsageError`` naming the first variable
the format cannot carry, so nothing is written that a reader would take for
another value. The rules each format follows are the readers' own:

- dotenv: python-dotenv (``dotenv_values``) reads every value back exactly, and
  Node's ``dotenv`` package too unless the value holds a backslash together with
  a quote or a line break (Node decodes no escape but ``\\n``/``\\r``): such a
  name is returned in ``node_differs``. A value python-dotenv would expand
  (``${NAME}``, ``${NAME:-default}``: it expands them even in single quotes)
  cannot be written.
- shell: ``export NAME='value'``, POSIX single quotes (``'`` as ``'\\''``), safe
  to ``eval``; names must be shell names.
- docker: ``NAME=value``, the value taken literally (``docker run --env-file``,
  docker/cli ``pkg/kvfile``): no quoting exists, so a value with a line break
  cannot be written, nor one that begins and ends with the same quote character
  (newer Docker releases strip such a pair, older ones keep it).
- json: one object, name -> value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from dbenv.errors import UsageError

__all__ = ["FORMATS", "Encoded", "encode"]

FORMATS = ("dotenv", "json", "shell", "docker")

_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# names both python-dotenv ([^=#\s]+) and Node's dotenv ([\w.-]+) read as written
_DOTENV_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# python-dotenv's POSIX expansion: ${NAME} and ${NAME:-default}, in any quoting
_DOTENV_EXPANDS = re.compile(r"\$\{[^}:]*(?::-[^}]*)?\}")


@dataclass(frozen=True)
class Encoded:
    """The text of one format, and the names Node's dotenv would read differently."""

    text: str
    node_differs: tuple[str, ...] = ()


def _cannot(name: str, fmt: str, why: str, fix: str) -> UsageError:
    return UsageError(f"variable '{name}' cannot be written in --format {fmt}: {why}.", hint=fix)


def _check_name(name: str, fmt: str, pattern: re.Pattern[str]) -> None:
    if not pattern.fullmatch(name):
        raise _cannot(
            name,
            fmt,
            f"a {fmt} file cannot carry that name",
            "Rename it (letters, digits and _), or use --format json.",
        )


def _dotenv_value(name: str, value: str) -> tuple[str, bool]:
    """The quoted value, and whether Node's dotenv would read it differently."""
    if _DOTENV_EXPANDS.search(value):
        raise _cannot(
            name,
            "dotenv",
            "python-dotenv would expand its '${...}' when reading the file",
            "Use --format json or --format shell for this environment.",
        )
    breaks = "\n" in value or "\r" in value
    # Single quotes: both readers take the text literally (python-dotenv decodes
    # only \\ and \' there, so neither may appear, nor a trailing backslash).
    if "'" not in value and "\\\\" not in value and not value.endswith("\\") and not breaks:
        return f"'{value}'", False
    # Double quotes with \n and \r escapes: both readers decode exactly these.
    if '"' not in value and "\\" not in value:
        return '"' + value.replace("\n", "\\n").replace("\r", "\\r") + '"', False
    # python-dotenv's full escaping; Node's dotenv keeps these backslashes.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"', True


def _dotenv(values: Mapping[str, str]) -> Encoded:
    lines, differs = [], []
    for name, value in values.items():
        _check_name(name, "dotenv", _DOTENV_NAME)
        quoted, node = _dotenv_value(name, value)
        lines.append(f"{name}={quoted}")
        if node:
            differs.append(name)
    return Encoded("".join(line + "\n" for line in lines), tuple(differs))


def _shell(values: Mapping[str, str]) -> Encoded:
    lines = []
    for name, value in values.items():
        _check_name(name, "shell", _SHELL_NAME)
        lines.append(f"export {name}='" + value.replace("'", "'\\''") + "'\n")
    return Encoded("".join(lines))


def _docker(values: Mapping[str, str]) -> Encoded:
    lines = []
    for name, value in values.items():
        if not name or name[0] == "#" or "=" in name or any(c.isspace() for c in name):
            raise _cannot(
                name,
                "docker",
                "Docker reads no such name",
                "Rename it, or use --format json.",
            )
        if "\n" in value or "\r" in value:
            raise _cannot(
                name,
                "docker",
                "its value has a line break, which Docker's env-file format cannot carry",
                "Use --format dotenv, json or shell, or pass it with `docker run -e`.",
            )
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            raise _cannot(
                name,
                "docker",
                "its value begins and ends with a quote, which some Docker releases "
                "strip and others keep",
                "Use --format dotenv, json or shell, or pass it with `docker run -e`.",
            )
        lines.append(f"{name}={value}\n")
    return Encoded("".join(lines))


def _json(values: Mapping[str, str]) -> Encoded:
    return Encoded(json.dumps(dict(values), indent=2, ensure_ascii=False) + "\n")


def encode(values: Mapping[str, str], fmt: str) -> Encoded:
    """``values`` in format ``fmt`` (one of ``FORMATS``)."""
    encoders = {"dotenv": _dotenv, "json": _json, "shell": _shell, "docker": _docker}
    if fmt not in encoders:
        raise UsageError(
            f"unknown format '{fmt}'.", hint="Choose one of: " + ", ".join(FORMATS) + "."
        )
    return encoders[fmt](values)
