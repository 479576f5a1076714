"""dbenv compose: the YAML parses, the init script really creates the test database."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.commands.stack import compose
from dbenv.config import load_project
from dbenv.errors import BinariesNotFound, UsageError
from dbenv.stack.host import find_pg_binaries
from servers import missing

PASSWORD = "s3cret-Compose-pw"

PROJECT = """\
[project]
name = "{name}"
default = "development"

[environments.development]
database_url = "postgresql://{name}_user:${{POSTGRES_PASSWORD}}@localhost:5432/{name}"

[environments.test]
tier = "disposable"
database_url = "postgresql://{name}_test_user:${{TEST_POSTGRES_PASSWORD}}@localhost:5432/{name}_test"
extensions = ["uuid-ossp", "pgcrypto"]
"""

runner = CliRunner()


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    name = f"cmp{uuid.uuid4().hex[:8]}"
    (tmp_path / "dbenv.toml").write_text(PROJECT.format(name=name))
    (tmp_path / ".env").write_text(
        f"POSTGRES_PASSWORD={PASSWORD}\nTEST_POSTGRES_PASSWORD={PASSWORD}\n"
    )
    return tmp_path


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_compose_writes_parseable_files_without_passwords(project_dir: Path) -> None:
    project = load_project(project=project_dir, process_env={})
    result = compose(project)
    names = sorted(str(p.relative_to(project_dir)) for p in result.files)
    assert names == [
        "docker-compose.test.yml",
        "docker-compose.yml",
        "docker/init-test-db.sh",
        "docker/init-test-db.sql",
    ]
    base = load(project_dir / "docker-compose.yml")
    postgres = base["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_DB"] == project.name
    assert postgres["environment"]["POSTGRES_USER"] == f"{project.name}_user"
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    assert postgres["ports"] == ["127.0.0.1:${POSTGRES_PORT:-5432}:5432"]
    assert "redis" in base["services"]
    overlay = load(project_dir / "docker-compose.test.yml")["services"]["postgres"]
    assert "fsync=off" in overlay["command"]
    assert any("init-test-db.sh" in volume for volume in overlay["volumes"])
    assert "TEST_POSTGRES_PASSWORD" in overlay["environment"]
    for path in result.files:
        assert PASSWORD not in path.read_text()
    assert os.access(project_dir / "docker" / "init-test-db.sh", os.X_OK)


@pytest.fixture
def psql_path() -> str:
    try:
        bindir = find_pg_binaries().bindir
    except BinariesNotFound:
        missing("no PostgreSQL client binaries")
    return f"{bindir}:{os.environ.get('PATH', '')}"


@pytest.fixture
def cleanup(pg_server: Any) -> Iterator[list[tuple[str, str]]]:
    made: list[tuple[str, str]] = []
    yield made
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        for database, role in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def run_init(script: Path, pg_server: Any, psql_path: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": psql_path,
        "PGHOST": pg_server.host,
        "PGPORT": str(pg_server.port),
        "POSTGRES_USER": pg_server.user,
        "POSTGRES_DB": "postgres",
        "TEST_POSTGRES_PASSWORD": PASSWORD,
    }
    if pg_server.password:
        env["PGPASSWORD"] = pg_server.password
    return subprocess.run([str(script)], env=env, capture_output=True, text=True, check=False)


def test_init_script_creates_role_database_and_extensions(
    project_dir: Path, pg_server: Any, psql_path: str, cleanup: list[tuple[str, str]]
) -> None:
    project = load_project(project=project_dir, process_env={})
    result = compose(project)
    database, role = f"{project.name}_test", f"{project.name}_test_user"
    cleanup.append((database, role))
    script = project_dir / "docker" / "init-test-db.sh"
    for _ in range(2):  # idempotent: a second run changes nothing and fails nothing
        done = run_init(script, pg_server, psql_path)
        assert done.returncode == 0, done.stderr
        assert PASSWORD not in done.stdout + done.stderr
    assert result.test[0].database == database
    with psycopg.connect(pg_server.dsn_for(database)) as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert owner == (role,)
        extensions = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
        assert {"uuid-ossp", "pgcrypto"} <= extensions
        secret = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role]
        ).fetchone()
        assert secret is not None and str(secret[0]).startswith("SCRAM-SHA-256$")


def test_init_script_without_the_password_variable_fails_clearly(
    project_dir: Path, pg_server: Any, psql_path: str
) -> None:
    compose(load_project(project=project_dir, process_env={}))
    env = {"PATH": psql_path, "PGHOST": pg_server.host, "PGPORT": str(pg_server.port)}
    done = subprocess.run(
        [str(project_dir / "docker" / "init-test-db.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "set TEST_POSTGRES_PASSWORD" in done.stderr


def test_compose_never_overwrites_a_file_of_the_team(project_dir: Path) -> None:
    (project_dir / "docker-compose.yml").write_text("services: {}  # ours\n")
    result = runner.invoke(app, ["--project", str(project_dir), "compose"])
    assert result.exit_code == 2 and "was not written by dbenv compose" in result.stderr
    assert (project_dir / "docker-compose.yml").read_text() == "services: {}  # ours\n"
    assert not (project_dir / "docker").exists()


def test_compose_regenerates_its_own_files_and_honours_out(project_dir: Path) -> None:
    out = project_dir / "deploy"
    for _ in range(2):
        result = runner.invoke(app, ["--project", str(project_dir), "compose", "--out", str(out)])
        assert result.exit_code == 0, result.output
    assert load(out / "docker-compose.yml")["services"]["postgres"]["image"].startswith("postgres:")
    assert "TEST_POSTGRES_PASSWORD" in result.stdout


def test_compose_says_it_leaves_out_the_local_replica_and_pooler(project_dir: Path) -> None:
    toml = project_dir / "dbenv.toml"
    toml.write_text(toml.read_text() + "\n[local]\nreplica = true\npooler = true\n")
    result = runner.invoke(app, ["--project", str(project_dir), "compose"])
    assert result.exit_code == 0, result.output
    assert (
        "note: [local] replica = true and pooler = true: dbenv up starts them; these compose "
        "files start neither a replica nor a pooler." in result.stdout
    )


def test_compose_needs_a_disposable_environment(tmp_path: Path) -> None:
    (tmp_path / "dbenv.toml").write_text(
        '[project]\nname = "solo"\n\n[environments.development]\n'
        'database_url = "postgresql://u@localhost/solo"\n'
    )
    with pytest.raises(UsageError, match="no disposable environment"):
        compose(load_project(project=tmp_path, process_env={}))
    result = runner.invoke(app, ["--project", str(tmp_path), "compose"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
