"""Layering an environment's variables, lowest first.

    [vars] < project env_files (.env) < [environments.X.vars]
           < environment env_files (.env.X) < process environment < arguments

What the project file says for one named environment beats a generic,
all-environment ``.env``; the environment's own env files (uncommitted, per
machine) beat the project file.

The result keeps every layer's winner with its origin; interpolation runs
afterwards (see ``interpolation``), so lower layers may use higher ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dbenv.config.dotenv_files import RawValue, read_env_file
from dbenv.config.interpolation import MissingVariable, Resolver
from dbenv.config.locator import KeyLines
from dbenv.config.model import Origin, Setting


@dataclass(frozen=True)
class LayeredVariables:
    """The winning raw value of every variable, and which env files were read."""

    raw: Mapping[str, RawValue]
    declared: frozenset[str]  # defined by the project, an env file or an argument
    files_read: tuple[Path, ...]
    files_missing: tuple[Path, ...]


def as_text(value: Any) -> str:
    """A TOML scalar as a variable's text (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _table_values(
    table: Mapping[str, Any], *, path: tuple[str, ...], label: str, lines: KeyLines
) -> dict[str, RawValue]:
    return {
        key: RawValue(as_text(value), Origin("project", label, lines.line_of((*path, key))))
        for key, value in table.items()
    }


def layer_variables(
    *,
    data: Mapping[str, Any],
    name: str,
    lines: KeyLines,
    project_label: str,
    shared_files: tuple[Path, ...],
    own_files: tuple[Path, ...],
    process_env: Mapping[str, str],
    overrides: Mapping[str, str],
    label: Callable[[Path], str],
) -> LayeredVariables:
    """Merge the layers of environment ``name``; each file list lowest first."""
    table = data["environments"][name]
    merged = _table_values(data.get("vars", {}), path=("vars",), label=project_label, lines=lines)
    read: list[Path] = []
    missing: list[Path] = []

    def read_files(paths: tuple[Path, ...]) -> None:
        for path in paths:
            values = read_env_file(path, label=label(path))
            if values is None:
                missing.append(path)
                continue
            read.append(path)
            merged.update(values)

    read_files(shared_files)
    merged.update(
        _table_values(
            table.get("vars", {}),
            path=("environments", name, "vars"),
            label=project_label,
            lines=lines,
        )
    )
    read_files(own_files)
    declared = set(merged) | set(overrides)
    for key, value in process_env.items():
        merged[key] = RawValue(value, Origin("process", key), literal=True)
    for key, value in overrides.items():
        merged[key] = RawValue(value, Origin("argument", key), literal=True)
    return LayeredVariables(merged, frozenset(declared), tuple(read), tuple(missing))


def visible_variables(
    layered: LayeredVariables, resolver: Resolver, required: tuple[str, ...]
) -> dict[str, Setting]:
    """The variables an environment shows and exports, resolved.

    Declared variables, plus process variables that are required or referenced;
    a variable that depends on a missing required one is left out (it is
    reported as missing instead).
    """
    names = [*sorted(layered.declared), *required]
    result: dict[str, Setting] = {}
    pending = list(dict.fromkeys(names))
    seen = set(pending)
    while pending:
        key = pending.pop(0)
        try:
            resolved = resolver.variable(key)
        except MissingVariable:
            continue
        if resolved is None:
            continue
        result[key] = Setting(key, resolved.value, resolved.origin, resolved.secret, resolved.parts)
        fresh = sorted(resolver.used - seen)
        seen.update(fresh)
        pending.extend(fresh)
    # an env: reference built by interpolation is only known once resolved
    for key in resolver.secret_names & result.keys():
        if not result[key].secret:
            result[key] = replace(result[key], secret=True)
    return dict(sorted(result.items()))
