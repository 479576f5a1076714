"""A template fingerprint is one value, whatever the process computing it.

SQLAlchemy's ``table.indexes`` is a set of objects hashed by identity, so the
DDL ``create_all`` renders listed a table's indexes in an order that changed from
one process to the next: 20-25% of resets computed another fingerprint, rebuilt
the template and dropped the other. Here 17 fresh interpreters (each its own
``PYTHONHASHSEED``), each loading the models three times over, must agree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

MODELS = """
from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table
from sqlalchemy import UniqueConstraint

metadata = MetaData()
Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String, index=True), Column("name", String, index=True),
    Column("city", String, index=True), Column("zip", String, index=True),
    Column("a", String), Column("b", String),
    Index("ix_users_a_b", "a", "b"), Index("ix_users_b", "b", unique=True),
    UniqueConstraint("email", "name", name="uq_users_email_name"),
)
Table(
    "orders", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), index=True),
    Column("kind", String, index=True), Column("state", String, index=True),
)
"""

COMPUTE = """
import importlib, sys
sys.path.insert(0, sys.argv[1])
from dbenv.config import load_project
from dbenv.sources.schema import fingerprint
for _ in range(3):  # fresh Index objects each time, at other addresses
    sys.modules.pop("fp_models", None)
    importlib.invalidate_caches()
    project = load_project(project=sys.argv[1], process_env={})
    print(fingerprint(project, project.environment("test")))
"""


def test_the_fingerprint_is_the_same_in_every_process(tmp_path: Path) -> None:
    (tmp_path / "fp_models.py").write_text(textwrap.dedent(MODELS))
    (tmp_path / "dbenv.toml").write_text(
        '[project]\nname = "fp"\n\n[environments.test]\ntier = "disposable"\n'
        'database_url = "postgresql://app@127.0.0.1:1/fp_test"\n'
        'schema_source = "sqlalchemy:fp_models:metadata"\n'
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", COMPUTE, str(tmp_path)],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(1, 18)
    ]
    seen: list[str] = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        seen += out.split()
    assert len(seen) == 51
    assert len(set(seen)) == 1, sorted(set(seen))
