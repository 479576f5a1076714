"""Seed files: JSON or YAML ``{"table": [rows]}``, CSV one file per table.

Parsing only — ``seed.py`` writes the rows. A malformed file is a ``SeedDataError``
naming the file (and table, row and column where there is one).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbenv.errors import SeedDataError

__all__ = ["TableRows", "fail", "read_files"]


@dataclass(frozen=True)
class TableRows:
    """One table's rows from one file; ``numbers[i]`` is row i's number in the file."""

    file: str
    table: str  # logical name as written
    rows: list[dict[str, Any]]
    csv: bool = False


def fail(
    source: TableRows | str,
    message: str,
    *,
    row: int | None = None,
    column: str | None = None,
    hint: str | None = None,
) -> SeedDataError:
    file = source if isinstance(source, str) else source.file
    where = [file]
    if not isinstance(source, str):
        where.append(f"table {source.table}")
    if row is not None:
        line = f" (line {row + 1})" if not isinstance(source, str) and source.csv else ""
        where.append(f"row {row}{line}")
    if column is not None:
        where.append(f"column {column}")
    return SeedDataError(
        f"{', '.join(where)}: {message}", hint=hint or "Fix the seed file; nothing was written."
    )


def read_files(paths: Iterable[Path | str]) -> list[TableRows]:
    """Parse seed files into per-table row lists (a malformed file is a SeedDataError)."""
    found: list[TableRows] = []
    for item in paths:
        path = Path(item)
        if not path.is_file():
            raise fail(str(path), "no such file", hint="Check the path (dbenv seed ENV FILES...).")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            found.append(_read_csv(path))
            continue
        if suffix not in (".json", ".yaml", ".yml"):
            raise fail(
                str(path),
                f"unsupported file type '{suffix}'",
                hint="Use .json, .yaml/.yml (table -> rows) or .csv (one table).",
            )
        found.extend(_read_mapping(path, suffix))
    return found


def _read_mapping(path: Path, suffix: str) -> list[TableRows]:
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except ValueError as exc:  # json.JSONDecodeError and yaml.YAMLError carry positions
        raise fail(str(path), f"not valid {suffix[1:].upper()}: {exc}") from None
    except Exception as exc:
        raise fail(str(path), f"not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise fail(str(path), "expected a mapping of table names to lists of rows")
    tables = []
    for table, rows in data.items():
        source = TableRows(str(path), str(table), [])
        if not isinstance(rows, list):
            raise fail(source, "expected a list of rows")
        for number, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise fail(source, "expected an object of column: value", row=number)
            source.rows.append({str(k): v for k, v in row.items()})
        tables.append(source)
    return tables


def _read_csv(path: Path) -> TableRows:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        source = TableRows(str(path), path.stem, [], csv=True)
        for number, row in enumerate(reader, 1):
            if None in row:
                raise fail(source, "more cells than header columns", row=number)
            source.rows.append({k: (v if v != "" else None) for k, v in row.items()})
    return source
