"""pg_dump-based independent check for the diff tests, and the corpus listing."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from pathlib import Path

from servers import missing

CORPUS = Path(__file__).parent / "corpus"


def find_pg_dump() -> str:
    """pg_dump the way the local-stack code finds binaries: PATH, pg_config, versioned dirs."""
    found = shutil.which("pg_dump")
    if found:
        return found
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
        candidate = Path(bindir.strip()) / "pg_dump"
        if candidate.exists():
            return str(candidate)
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True):
        return candidate
    missing("pg_dump not found")


def start_dump(dsn: str) -> subprocess.Popen[str]:
    """Start ``pg_dump --schema-only`` in the background (it overlaps the test's work)."""
    return subprocess.Popen(
        [find_pg_dump(), "--schema-only", dsn], stdout=subprocess.PIPE, text=True
    )


def finish_dump(proc: subprocess.Popen[str]) -> list[str]:
    out = proc.communicate()[0]
    assert proc.returncode == 0, "pg_dump failed"
    return _normalise(out)


def normalised_dumps(*dsns: str) -> list[list[str]]:
    """``pg_dump --schema-only`` of each DSN (run side by side), normalised."""
    return [finish_dump(proc) for proc in [start_dump(dsn) for dsn in dsns]]


def _normalise(out: str) -> list[str]:
    """A dump as a sorted list of statements, with CREATE TABLE column lines sorted."""
    lines = [
        line
        for line in out.splitlines()
        if line.strip()
        and not line.startswith(("--", "\\"))
        and not line.startswith("SET ")
        and not line.startswith("SELECT pg_catalog.set_config")
    ]
    statements: list[str] = []
    current: list[str] = []
    for line in lines:
        current.append(line)
        if line.endswith(";"):
            statements.append(_sort_columns(current))
            current = []
    if current:
        statements.append(_sort_columns(current))
    return sorted(statements)


def _sort_columns(lines: list[str]) -> str:
    if lines and re.match(r"CREATE (UNLOGGED )?TABLE ", lines[0]) and lines[0].endswith("("):
        end = next((i for i in range(len(lines) - 1, 0, -1) if lines[i].startswith(")")), None)
        if end is not None:
            body = sorted(line.rstrip(",").strip() for line in lines[1:end])
            return "\n".join([lines[0], *body, *lines[end:]])
    return "\n".join(lines)


def corpus_cases() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if (p / "a.sql").exists())
