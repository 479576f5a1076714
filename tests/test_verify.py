"""``--verify``: found URL passwords tried against the project's own servers only.

Against the suite's PostgreSQL (a real role created for the test) and Redis (an ACL
user), plus a server of its own with password authentication on TCP (the suite's
trusts TCP, so there any password is accepted) for the rejected case.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from dbenv.commands.config import check
from dbenv.commands.stack import initdb_cache
from dbenv.config import load_project
from dbenv.stack.local import LocalStack
from servers import PgServer, RedisServer


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def role(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    name, password = f"verify_{uuid.uuid4().hex[:8]}", "V3rify-Pw-31"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
    yield name, password
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f"DROP ROLE {name}")


@pytest.fixture(scope="module")
def scram_server() -> Iterator[tuple[int, str]]:
    """A server whose TCP connections need the right password: (port, role)."""
    root = Path(tempfile.mkdtemp(prefix="dbenv-test-verify-"))
    root.chmod(0o755)
    stack = LocalStack(root / "stack", redis=False, initdb_cache=initdb_cache({}))
    status = stack.start()
    assert status.state is not None and status.state.postgres is not None
    with psycopg.connect(stack.urls().postgres, autocommit=True) as conn:
        conn.execute("CREATE ROLE checked LOGIN PASSWORD 'R1ght-Pw-55'")
    try:
        yield status.state.postgres.port, "checked"
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def _project(root: Path, hosts: dict[str, str], leaks: str) -> list[str]:
    envs = "".join(
        f'[environments.{name}]\ntier = "disposable"\ndatabase_url = "{url}"\n'
        for name, url in hosts.items()
    )
    first = next(iter(hosts))
    (root / "dbenv.toml").write_text(f'[project]\nname = "app"\ndefault = "{first}"\n{envs}')
    (root / "leaks.md").write_text(textwrap.dedent(leaks))
    project = load_project(project=root, process_env={})
    report = check(project, scan=[root / "leaks.md"], verify=True)
    return [f.message for f in report.findings if f.rule == "credential-in-file"]


def test_verify_reports_live_rejected_unreachable_and_untried(
    tmp_path: Path, pg_server: PgServer, role: tuple[str, str], scram_server: tuple[int, str]
) -> None:
    name, password = role
    port, checked = scram_server
    closed = _closed_port()
    messages = _project(
        tmp_path,
        {
            "test": f"postgresql://{name}@{pg_server.host}:{pg_server.port}/postgres",
            "other": "postgresql://app@db.acme.io/app",
        },
        f"""
        postgresql://{name}:{password}@{pg_server.host}:{pg_server.port}/postgres
        postgresql://{checked}:Wr0ng-Pw-55@{pg_server.host}:{port}/postgres
        postgresql+asyncpg://{checked}:R1ght-Pw-55@{pg_server.host}:{port}/nosuchdb
        postgresql://{name}:{password}@{pg_server.host}:{closed}/postgres
        postgresql://app:Sh0uld-N0t-Try@db.acme.io/app
        postgresql://app:Sh0uld-N0t-Try@elsewhere.acme.io/app
        """,
    )
    verdicts = [m.split("[verify: ")[1] for m in messages]
    assert verdicts[0].startswith("live (tried against test's host)")
    assert verdicts[1].startswith("rejected")
    assert verdicts[2].startswith("live")  # the password was taken; no such database
    assert verdicts[3].startswith("unreachable")
    assert verdicts[4].startswith("unreachable")  # declared, but no such server here
    assert verdicts[5].startswith("not tried (its host is not one a declared environment")
    assert not any(password in m or "R1ght-Pw-55" in m for m in messages)


def test_verify_tries_redis_urls(tmp_path: Path, redis_server: RedisServer) -> None:
    user = f"verify_{uuid.uuid4().hex[:8]}"
    admin = redis.Redis(host=redis_server.host, port=redis_server.port)
    admin.acl_setuser(user, enabled=True, passwords=["+R3dis-Pw-8"], commands=["+ping"])
    try:
        where = f"{redis_server.host}:{redis_server.port}"
        root = tmp_path
        (root / "dbenv.toml").write_text(
            '[project]\nname = "app"\ndefault = "test"\n[environments.test]\n'
            'tier = "disposable"\ndatabase_url = "postgresql://app@localhost/app"\n'
            f'redis_url = "redis://{where}/0"\n'
        )
        (root / "leaks.md").write_text(
            f"redis://{user}:R3dis-Pw-8@{where}/0\nredis://{user}:Wr0ng-Pw-8@{where}/0\n"
        )
        report = check(load_project(project=root, process_env={}), scan=[root / "leaks.md"],
                       verify=True)  # fmt: skip
        verdicts = [f.message.split("[verify: ")[1] for f in report.findings if f.line]
        assert verdicts[0].startswith("live") and verdicts[1].startswith("rejected")
    finally:
        admin.acl_deluser(user)
        admin.close()
