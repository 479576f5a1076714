"""Finding and parsing the project file: ``dbenv.toml`` or ``[tool.dbenv]``.

The search walks up from the working directory; an explicit path (a file or a
directory) is used as given. Malformed TOML becomes a ``ProjectFileError`` with
the file and line tomllib reports.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbenv.config.locator import KeyLines, locate
from dbenv.errors import ProjectFileError, ProjectNotFound

PROJECT_FILE = "dbenv.toml"
PYPROJECT = "pyproject.toml"
_TOML_LINE = re.compile(r"\(at line (?P<line>\d+), column (?P<col>\d+)\)")


@dataclass(frozen=True)
class ProjectSource:
    """The parsed dbenv table of a project file and where its keys are."""

    path: Path
    data: dict[str, Any]
    lines: KeyLines

    @property
    def root(self) -> Path:
        return self.path.parent


def _has_dbenv_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*\[\s*tool\s*\.\s*dbenv\b", text, re.M) is not None


def _candidate(directory: Path) -> Path | None:
    own = directory / PROJECT_FILE
    if own.is_file():
        return own
    pyproject = directory / PYPROJECT
    if pyproject.is_file() and _has_dbenv_table(pyproject):
        return pyproject
    return None


def find_project_file(*, project: Path | str | None = None, cwd: Path | None = None) -> Path:
    """The project file to use: explicit ``project`` or the nearest one up from ``cwd``."""
    hint = "Run `dbenv init` to create dbenv.toml, or pass --project PATH."
    if project is not None:
        given = Path(project).expanduser()
        if not given.is_absolute():
            given = (cwd or Path.cwd()) / given
        if given.is_file():
            return given.resolve()
        found = _candidate(given) if given.is_dir() else None
        if found is None:
            raise ProjectNotFound(
                f"no {PROJECT_FILE} or {PYPROJECT} with [tool.dbenv] at {given}.", hint=hint
            )
        return found.resolve()
    start = (cwd or Path.cwd()).resolve()
    for directory in (start, *start.parents):
        found = _candidate(directory)
        if found is not None:
            return found
    raise ProjectNotFound(
        f"no {PROJECT_FILE} or {PYPROJECT} with [tool.dbenv] in {start} or any parent directory.",
        hint=hint,
    )


def read_project_file(path: Path) -> ProjectSource:
    """Parse ``path``; for ``pyproject.toml`` keep only its ``[tool.dbenv]`` table."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectFileError(
            f"cannot read {path}: {exc.__class__.__name__}.",
            hint="Check the file exists, is readable and is UTF-8.",
            path=path,
        ) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        line = int(found.group("line")) if found else None
        reason = _TOML_LINE.sub("", str(exc)).strip()
        where = f"{path}:{line}, column {found.group('col')}" if found else str(path)
        raise ProjectFileError(
            f"malformed TOML in {where}: {reason}.",
            hint="Fix the syntax at that line (https://toml.io).",
            path=path,
            line=line,
        ) from None
    if path.name == PYPROJECT:
        table = document.get("tool", {}).get("dbenv")
        if not isinstance(table, dict):
            raise ProjectFileError(
                f"{path} has no [tool.dbenv] table.",
                hint="Add [tool.dbenv.project] with a name, or create dbenv.toml (dbenv init).",
                path=path,
            )
        return ProjectSource(path, table, locate(text, prefix=("tool", "dbenv")))
    return ProjectSource(path, document, locate(text))
