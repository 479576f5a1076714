"""Safety snapshots: a ``pg_dump -Fc`` of the target taken before an override.

The file goes to ``<root>/.dbenv/snapshots/<env>-<database>-<UTC time>.dump``;
restore it with ``pg_restore --clean -d <database> FILE``. The password reaches
pg_dump through its environment (``PGPASSWORD``), never its command line or a file.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from dbenv.backends import children
from dbenv.backends.postgres import url_parts
from dbenv.config.masking import scrub
from dbenv.config.model import Environment, Secret
from dbenv.errors import BinariesNotFound, OperationError

__all__ = ["take_snapshot"]


def take_snapshot(
    env: Environment,
    url: Secret | str,
    root: Path,
    *,
    pg_dump: str | None = None,
    timeout: float = 600,
) -> Path:
    """Dump the database ``url`` points at; returns the snapshot file."""
    binary = shutil.which(pg_dump or "pg_dump")
    if binary is None:
        raise BinariesNotFound(
            "cannot take the safety snapshot an override requires: pg_dump was not found.",
            hint="Install the PostgreSQL client (apt-get install postgresql-client).",
        )
    parts = url_parts(url)
    password = parts.pop("password", "")
    database = parts.get("dbname", "")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = root / ".dbenv" / "snapshots" / f"{env.name}-{database}-{stamp}.dump"
    target.parent.mkdir(parents=True, exist_ok=True)
    conninfo = " ".join(f"{k}='{_quote(v)}'" for k, v in parts.items())
    child_env = {"PGPASSWORD": password} if password else {}
    child_env["PGAPPNAME"] = f"dbenv:{env.project}:{env.name}:snapshot"[:63]
    done = children.run(
        [binary, "-Fc", "--no-password", "-f", str(target), "-d", conninfo],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        reason = scrub(
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "", [password]
        )
        raise OperationError(
            f"the safety snapshot of '{database}' failed ({reason}); nothing was changed.",
            hint="Fix the cause (disk space, pg_dump version) and retry.",
        )
    return target


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
