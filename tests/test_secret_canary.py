"""A canary password fed through every way a secret enters, against a real server.

Each entry gets its own canary (so a failure names the entry): a literal URL
password, a ``.env`` variable interpolated into a URL (named unlike a secret), an
``env:``, a ``file:`` and a ``cmd:`` reference, a ``?password=`` parameter, a
percent-encoded password with ``/``, ``@`` and ``%``, the ``+asyncpg`` and
``postgres://`` shapes, the same specials left unencoded, and a libpq ``key=value``
string — plus the sync masking salt, and production's pooler, replica and Redis
role (unreachable: their errors are printed too). Every verb runs on every environment; what
each prints (stdout and stderr apart), every file under the project (``.dbenv/``
included) and the server's log (``log_statement = all``, a server of this
module's own) are grepped for every canary, raw and percent-decoded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.commands.stack import initdb_cache
from dbenv.errors import BinariesNotFound
from dbenv.stack.local import LocalStack
from servers import missing

CANARIES = {
    "literal": "cnry-literal-1a",
    "interpolated": "cnry-interp-2b",
    "env_ref": "cnry-envref-3c",
    "file_ref": "cnry-fileref-4d",
    "cmd_ref": "cnry-cmdref-5e",
    "query": "cnry-query-6f",
    "encoded": "cn/ry@enc%7g",
    "asyncpg": "cnry-asyncpg-8h",
    "postgres_scheme": "cnry-pgscheme-9i",
    "unencoded_slash": "cn/ry-slash-10j",
    "unencoded_at": "cn@ry-at-11k",
    "unencoded_percent": "cn%ry-pct-12l",
    "dsn": "cnry-dsn-13m",
    "production": "cnry-prod-14n",
    "salt": "cnry-salt-15o",
    # production's topology (none of them an environment of its own)
    "pooler": "cnry-pooler-16p",
    "replica": "cnry-replica-17q",
    "redis_role": "cnry-redisrole-18r",
}
TOPOLOGY = ("pooler", "replica", "redis_role")


@dataclass(frozen=True)
class LoggedServer:
    port: int
    log: Path


@pytest.fixture(scope="module")
def logged_server() -> Iterator[LoggedServer]:
    """A PostgreSQL of this module's own that logs every statement with its parameters."""
    root = Path(tempfile.mkdtemp(prefix="dbenv-canary-"))
    root.chmod(0o755)  # as root, the server's unprivileged user must reach it
    stack = LocalStack(
        root / "stack", redis=False, host_auth="trust", initdb_cache=initdb_cache(os.environ)
    )
    try:
        status = stack.start()
    except BinariesNotFound as error:
        shutil.rmtree(root, ignore_errors=True)
        missing(f"no PostgreSQL binaries to start a test server: {error}")
    assert status.state is not None and status.state.postgres is not None
    port = status.state.postgres.port
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
    ) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("ALTER SYSTEM SET log_min_error_statement = 'error'")
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield LoggedServer(port, root / "stack" / "postgres.log")
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def _project_text(port: int) -> str:
    c = CANARIES
    at = f"127.0.0.1:{port}"
    return textwrap.dedent(f"""
        [project]
        name = "canary"
        default = "literal"
        secret_timeout = 5

        [sync]
        salt = "env:MASK_SALT_SOURCE"

        [sync.profiles.people]
        source = "production"
        target = "literal"
        mirror = ["public.people"]

        [sync.profiles.people.mask]
        "public.people.email" = "email"
        "public.people.label" = "keep"

        [sync.profiles.cloned]
        source = "production"
        target = "interpolated"

        [sync.profiles.cloned.mask]
        "public.people.email" = "hash"
        "public.people.label" = "keep"

        [environments.production]
        tier = "protected"
        database_url = "postgresql://postgres:{c["production"]}@{at}/canary_production"
        pooler_url = "postgresql://postgres:{c["pooler"]}@127.0.0.1:1/canary_production"
        replicas = ["postgresql://postgres:{c["replica"]}@127.0.0.1:1/canary_production"]

        [environments.production.redis.cache]
        url = "redis://:{c["redis_role"]}@127.0.0.1:1"

        [environments.literal]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql://postgres:{c["literal"]}@{at}/canary_literal"

        [environments.interpolated]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql://postgres:${{DB_PW}}@{at}/canary_interpolated"

        [environments.env_ref]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql://postgres@{at}/canary_env_ref"
        password = "env:STAGE_PW"

        [environments.file_ref]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        host = "127.0.0.1"
        port = {port}
        database = "canary_file_ref"
        user = "postgres"
        password = "file:secrets/db_password"

        [environments.cmd_ref]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql://postgres@{at}/canary_cmd_ref"
        password = "cmd:cat secrets/cmd_password"

        [environments.query]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql://postgres@{at}/canary_query?password={c["query"]}"

        [environments.encoded]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql://postgres:{quote(c["encoded"], safe="")}@{at}/canary_encoded"

        [environments.asyncpg]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql+asyncpg://postgres:{c["asyncpg"]}@{at}/canary_asyncpg"

        [environments.postgres_scheme]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgres://postgres:{c["postgres_scheme"]}@{at}/canary_pgscheme"

        [environments.unencoded_slash]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql://postgres:{c["unencoded_slash"]}@{at}/canary_slash"

        [environments.unencoded_at]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql://postgres:{c["unencoded_at"]}@{at}/canary_at"

        [environments.unencoded_percent]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "postgresql://postgres:{c["unencoded_percent"]}@{at}/canary_pct"

        [environments.dsn]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "host=127.0.0.1 port={port} password={c["dsn"]} dbname=canary_dsn"
        """)


@pytest.fixture
def canary_project(
    logged_server: LoggedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    root = tmp_path / "canary"
    (root / "secrets").mkdir(parents=True)
    (root / "dbenv.toml").write_text(_project_text(logged_server.port))
    (root / "schema.sql").write_text(
        "CREATE TABLE people (id int PRIMARY KEY, email text, label text);\n"
    )
    (root / "secrets" / "db_password").write_text(CANARIES["file_ref"] + "\n")
    (root / "secrets" / "cmd_password").write_text(CANARIES["cmd_ref"] + "\n")
    (root / ".env").write_text(
        f"DB_PW={CANARIES['interpolated']}\nSTAGE_PW={CANARIES['env_ref']}\n"
    )
    monkeypatch.setenv("MASK_SALT_SOURCE", CANARIES["salt"])  # the salt is read from here
    for name in ("APP_ENV", "ENVIRONMENT", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(root)
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{logged_server.port}/postgres", autocommit=True
    ) as conn:
        conn.execute("DROP DATABASE IF EXISTS canary_production WITH (FORCE)")
        conn.execute("CREATE DATABASE canary_production")
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{logged_server.port}/canary_production", autocommit=True
    ) as conn:
        conn.execute("CREATE TABLE people (id int PRIMARY KEY, email text, label text)")
        conn.execute("INSERT INTO people VALUES (1, 'someone@real.example', 'a')")
    return root


def _forms() -> dict[str, set[str]]:
    return {name: {value, quote(value, safe="")} for name, value in CANARIES.items()}


def _leaks(text: str) -> list[str]:
    return sorted(name for name, forms in _forms().items() if any(f in text for f in forms))


DISPOSABLE = [n for n in CANARIES if n not in ("production", "salt", *TOPOLOGY)]


def _runs() -> list[list[str]]:
    runs: list[list[str]] = [["envs"], ["envs", "--json"], ["check"], ["status"]]
    for env in ("production", *DISPOSABLE):
        runs += [
            ["config", "show", env],
            ["config", "show", env, "--origin"],
            ["config", "show", env, "--json"],
            ["config", "get", env, "database_url"],
            ["env", env],
            ["env", env, "--format", "docker"],
            ["status", env],
            ["check", env],
        ]
    for env in DISPOSABLE:
        runs += [["provision", env], ["reset", env], ["stamp", env]]
    runs += [
        ["reset", "literal"],
        ["sync", "production", "literal", "--profile", "people"],
        ["dump", "production", "--output", "prod.dump"],
        ["dump", "literal", "--output", "literal.dump"],
        ["restore", "literal.dump", "interpolated"],
        ["clone", "production", "interpolated"],
        ["run", "literal", "--", "true"],
        ["diff", "literal", "interpolated"],
        ["scan", "."],
    ]
    return runs


def test_no_canary_reaches_output_files_or_the_server_log(
    canary_project: Path, logged_server: LoggedServer
) -> None:
    runner = CliRunner()
    log_start = logged_server.log.stat().st_size
    leaked: list[str] = []
    codes: dict[str, int] = {}
    for argv in _runs():
        result = runner.invoke(app, ["--project", str(canary_project), *argv])
        label = " ".join(argv)
        codes[label] = result.exit_code
        for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            found = _leaks(text)
            if found:
                leaked.append(f"dbenv {label} ({stream}): {found}")
        if result.exception and not isinstance(result.exception, SystemExit):
            leaked.append(f"dbenv {label} raised {type(result.exception).__name__}")
    assert leaked == [], "\n".join(leaked)
    # the verbs did real work: provisioned, reset, synced (else the log proves little)
    assert codes["provision literal"] == 0 and codes["reset literal"] == 0, codes
    for verb in ("sync production literal --profile people", "clone production interpolated"):
        assert codes[verb] == 0, codes
    assert codes["restore literal.dump interpolated"] == 0, codes
    for name in ("unencoded_slash", "unencoded_at", "unencoded_percent", "dsn"):
        assert codes[f"status {name}"] == 2, codes  # refused as a bad URL, one sentence
    written = [
        p
        for p in canary_project.rglob("*")
        if p.is_file() and p.parent.name != "secrets" and p.name not in ("dbenv.toml", ".env")
    ]
    assert {"prod.dump", "literal.dump"} <= {p.name for p in written}
    offenders = [f"{p}: {_leaks(p.read_bytes().decode('latin-1'))}" for p in written]
    assert [o for o in offenders if not o.endswith("[]")] == []
    log = logged_server.log.read_bytes()[log_start:].decode("utf-8", "replace")
    assert "COPY" in log and "people" in log  # the log records the masked reads
    assert _leaks(log) == []
