"""Environments named like production are protected by name (DESIGN §3.6).

An environment called ``production``, ``prod`` or ``live`` (or a name the project
lists under ``[project] production_names``) may not be declared disposable: a
one-line edit of ``tier`` — or a ``DBENV_PRODUCTION_TIER=disposable`` in a shell —
must not be all it takes to let dbenv empty it. A project that really has a
throwaway environment by such a name says so for that environment:
``disposable_despite_name = true``.

A name is production-like when it, or one of its words (split on anything that is
not a letter: ``prod-eu``, ``live_2``), equals one of the names, ignoring case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from dbenv.config.model import Setting
from dbenv.errors import ConfigError, EnvFileError, ProjectFileError

__all__ = ["PRODUCTION_NAMES", "check_named_tier", "production_like"]

PRODUCTION_NAMES = ("production", "prod", "live")
ALLOW_KEY = "disposable_despite_name"


def production_like(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether ``name`` (or one of its words) is a production name."""
    names = {n.lower() for n in (*PRODUCTION_NAMES, *extra)}
    lowered = name.lower()
    return lowered in names or any(w in names for w in re.split(r"[^a-z]+", lowered) if w)


def check_named_tier(
    name: str,
    settings: Mapping[str, Setting],
    table: Mapping[str, Any],
    extra: Iterable[str],
    allow_line: int | None,
    label: str,
) -> None:
    """Raise (exit 2, naming where the tier came from) for a disposable production name.

    ``allow_line``/``label``: where ``disposable_despite_name`` is set, for its own
    errors (it is never silently ignored: on another name or tier it is a mistake).
    """
    tier = settings.get("tier")
    disposable = tier is not None and tier.value == "disposable"
    named = production_like(name, extra)
    allowed = table.get(ALLOW_KEY) is True
    if allowed and not (named and disposable):
        why = "is not named like production" if not named else "is not disposable"
        raise ProjectFileError(
            f"{label}:{allow_line}: '{ALLOW_KEY}' is set for '{name}', which {why}.",
            hint=f"Remove {ALLOW_KEY} from [environments.{name}]: it only lets a"
            " production-named environment be disposable.",
            path=label,
            line=allow_line,
        )
    if not (named and disposable) or allowed or tier is None:
        return
    origin = tier.origin
    path, line = (
        (origin.source, origin.line) if origin.kind in ("project", "dotenv") else (None, None)
    )
    error = ProjectFileError if origin.kind == "project" else ConfigError
    if origin.kind == "dotenv":
        error = EnvFileError
    raise error(
        f"environment '{name}' is named like production, so tier = \"disposable\""
        f" (from {origin}) is refused.",
        hint=f"Keep it protected; if it really is throwaway, add {ALLOW_KEY} = true"
        f" to [environments.{name}].",
        path=path,
        line=line,
    )
