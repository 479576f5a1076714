"""The example projects' models and seed files work on a real server (reset + seed, twice)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg

from dbenv.lifecycle.reset import reset
from dbenv.lifecycle.seed import seed
from reset_support import drop_project_databases, make_project, unique

DASHTAM = Path(__file__).resolve().parents[1] / "examples" / "dashtam"


def test_dashtam_models_reset_and_its_seeds_load_idempotently(
    tmp_path: Path, pg_server: Any
) -> None:
    module = unique("dashtam_models")
    shutil.copy(DASHTAM / "models.py", tmp_path / f"{module}.py")
    shutil.copytree(DASHTAM / "seeds", tmp_path / "seeds")
    files = ["seeds/providers.yaml", "seeds/users.json", "seeds/provider_audit_logs.csv"]
    project, database, dsn = make_project(
        tmp_path,
        pg_server,
        source=f"sqlalchemy:{module}:Base.metadata",
        extensions=["uuid-ossp", "pgcrypto"],
        seed_files=files,
    )
    try:
        env = project.environment("test")
        result = reset(project, env)
        assert list(result.tables) == [
            "provider_audit_logs",
            "provider_connections",
            "provider_tokens",
            "providers",
            "users",
        ]
        first = seed(project, env)
        assert first.changed == {
            "providers": 2,
            "users": 2,
            "provider_connections": 1,
            "provider_audit_logs": 2,
        }
        assert set(seed(project, env).changed.values()) == {0}
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT details->'scopes'->>0 FROM provider_audit_logs WHERE id = 1"
            ).fetchone()
            status = conn.execute("SELECT status::text FROM provider_connections").fetchone()
        assert row == ("accounts",) and status == ("active",)
    finally:
        drop_project_databases(pg_server.dsn, project, database)
