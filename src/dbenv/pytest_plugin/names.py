"""Names of the databases the pytest plugin creates, kept within PostgreSQL's 63 bytes.

A worker's clone is ``<database>_<worker>`` (``app_test_gw0``); a kept copy of a
failed test's database is ``<database>_failed_<hash>``. When a name would be too
long, the base is cut and a short hash of the whole name keeps it unique.
"""

from __future__ import annotations

import hashlib
import re

MAX_IDENTIFIER = 63  # bytes: PostgreSQL's NAMEDATALEN - 1


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    data = text.encode()[:limit]
    return data.decode(errors="ignore")


def suffixed(base: str, suffix: str) -> str:
    """``<base>_<suffix>``, shortened with a hash when longer than 63 bytes."""
    name = f"{base}_{suffix}"
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    room = MAX_IDENTIFIER - len(f"_{digest}_{suffix}".encode())
    return f"{_cut(base, room)}_{digest}_{suffix}"


def worker_database(base: str, worker: str | None) -> str:
    """The database a worker uses: the environment's own without xdist."""
    return base if worker is None else suffixed(base, worker)


def failed_copy(base: str, nodeid: str) -> str:
    """Where a failed test's database is kept (one name per test id)."""
    digest = hashlib.sha1(nodeid.encode()).hexdigest()[:8]
    return suffixed(base, f"failed_{digest}")


def worker_number(worker: str | None) -> int:
    """0 for ``gw0`` (and without xdist), 1 for ``gw1``, ..."""
    found = re.search(r"(\d+)$", worker or "")
    return int(found.group(1)) if found else 0
