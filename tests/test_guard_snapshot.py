"""The safety snapshot an override takes: a restorable dump, or a clear failure."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from dbenv.config.model import Environment
from dbenv.errors import BinariesNotFound, OperationError
from dbenv.safety.snapshot import take_snapshot

ENV = Environment(name="production", project="app", root=Path("."))


def test_snapshot_is_a_restorable_custom_format_dump(scratch_db: str, tmp_path: Path) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2)")
    path = take_snapshot(ENV, scratch_db, tmp_path)
    assert path.parent == tmp_path / ".dbenv" / "snapshots"
    assert path.name.startswith("production-dbenv_scratch_") and path.suffix == ".dump"
    listing = subprocess.run(
        ["pg_restore", "--list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "TABLE DATA public orders" in listing


def test_a_failing_pg_dump_leaves_no_file_and_no_password(
    tmp_path: Path, pg_server: object
) -> None:
    url = "postgresql://nobody:S3cretPw@127.0.0.1:1/missing"
    with pytest.raises(OperationError) as caught:
        take_snapshot(ENV, url, tmp_path)
    assert "S3cretPw" not in str(caught.value) and "nothing was changed" in caught.value.message
    assert list((tmp_path / ".dbenv" / "snapshots").iterdir()) == []


def test_no_pg_dump_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BinariesNotFound) as caught:
        take_snapshot(ENV, "postgresql://u@h/db", tmp_path, pg_dump="/nonexistent/pg_dump")
    assert "pg_dump was not found" in caught.value.message and caught.value.hint
