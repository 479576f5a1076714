"""Reading ``.env`` files with line numbers, through python-dotenv's parser.

Values are kept as written here: ``${VAR}`` interpolation and secret references
are resolved later, across all layers (single-quoted values are never
interpolated). A missing file is skipped (callers learn which files were read);
a malformed line is an ``EnvFileError`` naming file:line.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from dbenv.config.model import Origin
from dbenv.errors import EnvFileError

# KEY='value': single quotes keep the value literal (no ${VAR}, no $$), as in shells
_SINGLE_QUOTED = re.compile(r"^\s*(?:export\s+)?[^=\s]+\s*=\s*'")


@dataclass(frozen=True)
class RawValue:
    """A variable's text before interpolation, and where it was defined."""

    text: str
    origin: Origin
    literal: bool = False  # process/argument values are not interpolated


def read_env_file(path: Path, *, label: str | None = None) -> dict[str, RawValue] | None:
    """The variables in ``path`` in file order, or None when it does not exist.

    ``label`` is how origins name the file (default: the path as given).
    """
    from dotenv.parser import parse_stream

    if not path.exists():
        return None
    if not path.is_file():
        raise EnvFileError(
            f"env file {path} is a directory, not a file.",
            hint="List files in env_files (e.g. .env.test), not directories.",
            path=path,
        )
    name = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(
            f"cannot read {path}: {exc.__class__.__name__}.",
            hint="Check the file is readable and UTF-8.",
            path=path,
        ) from None
    values: dict[str, RawValue] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise EnvFileError(
                f"malformed line in {path}:{line}; expected KEY=value.",
                hint="Fix or remove that line (quote values that contain spaces or '#').",
                path=path,
                line=line,
            )
        if binding.key is None or binding.value is None:
            continue
        literal = _SINGLE_QUOTED.match(binding.original.string) is not None
        values[binding.key] = RawValue(binding.value, Origin("dotenv", name, line), literal)
    return values
