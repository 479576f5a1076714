"""The local stack (dbenv up/down): real servers started, recovered, stopped, purged."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.commands.stack import down, stack_for, up
from dbenv.config import load_project
from dbenv.errors import BinariesNotFound, ConnectionFailed, GuardRefusal, ServerStartError
from dbenv.stack.host import pid_alive
from dbenv.stack.local import MARKER, ExternalServer, LocalStack, StackStatus, read_state
from dbenv.stack.pg_cluster import SOCKET_PATH_MAX
from dbenv.stack.redis_server import RedisProcess
from servers import missing

PROJECT = """\
[project]
name = "{name}"
default = "development"

[local]
data_dir = ".dbenv"
port = {port}

[environments.development]
server = "local"

[environments.test]
server = "local"
tier = "disposable"
extensions = ["pgcrypto"]
"""


@pytest.fixture
def base() -> Iterator[Path]:
    """A searchable scratch directory (the server's user must reach it when we are root)."""
    path = Path(tempfile.mkdtemp(prefix="dbenv-stack-test-"))
    path.chmod(0o755)
    yield path
    for data_dir in path.rglob("postgres"):
        if (data_dir / "PG_VERSION").exists():
            LocalStack(data_dir.parent).stop()
    for pid_file in path.rglob("redis.pid"):
        RedisProcess(pid_file.parent, binary=Path("/bin/false")).stop()
    shutil.rmtree(path, ignore_errors=True)


# One real initdb for the module: later cold starts copy it (as `dbenv up` does from
# $XDG_CACHE_HOME/dbenv/initdb). The CLI tests point XDG_CACHE_HOME here too.
CACHE_HOME = Path(tempfile.gettempdir()) / f"dbenv-test-cache-{os.getpid()}"
CACHE = CACHE_HOME / "dbenv" / "initdb"
CLI_ENV = {"XDG_CACHE_HOME": str(CACHE_HOME)}


@pytest.fixture(scope="module", autouse=True)
def _remove_cache() -> Iterator[None]:
    CACHE_HOME.mkdir(mode=0o700, exist_ok=True)
    yield
    shutil.rmtree(CACHE_HOME, ignore_errors=True)


def new_stack(data_dir: Path, **options: Any) -> LocalStack:
    """A stack whose cold start copies the module's cached initdb (one real initdb)."""
    return LocalStack(data_dir, initdb_cache=CACHE, **options)


def gone(pid: int) -> bool:
    """Asserted by pid: the process no longer exists (or is a reaped zombie)."""
    return not pid_alive(pid)


def pids(status: StackStatus) -> list[int]:
    assert status.state is not None and status.state.postgres is not None
    found = [status.state.postgres.pid]
    if status.state.redis is not None:
        found.append(status.state.redis.pid)
    return found


def make_project(root: Path, *, name: str = "demo", port: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    (root / "dbenv.toml").write_text(PROJECT.format(name=name, port=port))
    return root


def test_up_up_down_leaves_no_process(base: Path) -> None:
    stack = LocalStack(base / "data")
    first = stack.start()
    assert first.created and "postgres" in first.started
    second = stack.start()
    assert second.started == () and pids(second) == pids(first)
    with psycopg.connect(stack.urls().postgres) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    stopped = stack.stop()
    assert sorted(stopped.stopped) == sorted(pids(first))
    assert all(gone(pid) for pid in pids(first))
    assert read_state(base / "data") is None
    assert not stack.status().running


def test_up_creates_local_environments_databases_idempotently(base: Path) -> None:
    project = load_project(project=make_project(base / "app"), process_env=CLI_ENV)
    result = up(project, no_redis=True)
    assert [(d.environment, d.database, d.created) for d in result.databases] == [
        ("development", "demo_development", True),
        ("test", "demo_test", True),
    ]
    fresh = load_project(project=base / "app", process_env=CLI_ENV)
    url = fresh.environment("test").database_url
    assert url is not None
    with psycopg.connect(url.reveal()) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (
            "demo_test",
            "demo_test",
        )
        assert conn.execute("SELECT 1 FROM pg_extension WHERE extname='pgcrypto'").fetchone()
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
    again = up(project, no_redis=True)
    assert again.already_running and not any(d.created for d in again.databases)
    stopped = down(project)
    assert stopped.stopped and all(gone(pid) for pid in stopped.stopped)


def test_kill_9_of_the_postmaster_then_up_recovers(base: Path) -> None:
    stack = new_stack(base / "data", redis=False)
    pid = pids(stack.start())[0]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stack.stop().stopped == ()  # nothing to stop: it died
    assert (base / "data" / "postgres" / "postmaster.pid").exists()  # stale
    recovered = stack.start()
    assert "postgres" in recovered.started and pids(recovered)[0] != pid
    with psycopg.connect(stack.urls().postgres) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_pid_file_left_by_a_reboot_is_recovered(base: Path) -> None:
    stack = new_stack(base / "data", redis=False)
    stack.start()
    stack.stop()
    # after a reboot the pid in postmaster.pid may belong to an unrelated live process
    pid_file = base / "data" / "postgres" / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{base / 'data' / 'postgres'}\n0\n5432\n\n\n\nready\n")
    recovered = stack.start()
    assert "postgres" in recovered.started and pids(recovered)[0] != os.getpid()
    assert any("stale postmaster.pid" in line for line in recovered.notices)
    with psycopg.connect(stack.urls().postgres) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.skipif(os.geteuid() != 0, reason="only meaningful when the tests run as root")
def test_as_root_the_server_runs_as_an_unprivileged_user(base: Path) -> None:
    said: list[str] = []
    stack = new_stack(base / "data", redis=False, progress=said.append)
    pid = pids(stack.start())[0]
    user = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    assert any(f"as user '{user}' (it refuses root)" in line for line in said), said
    uid = int(
        next(
            line.split()[1]
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("Uid:")
        )
    )
    assert uid != 0
    assert (base / "data" / "postgres").stat().st_uid == uid


@pytest.mark.skipif(os.geteuid() != 0, reason="only meaningful when the tests run as root")
def test_up_as_root_in_a_private_directory_puts_the_cluster_where_the_server_reaches(
    tmp_path: Path,
) -> None:
    """A 0700 project (a root container's home, ``mktemp -d``): the directory stays
    private, the cluster goes to a root-owned /var/lib/dbenv/<hash>, and up says so."""
    project = Path(tempfile.mkdtemp())  # as mktemp -d: 0700
    assert project.stat().st_mode & 0o777 == 0o700
    (project / "dbenv.toml").write_text(
        '[project]\nname = "private"\n\n[environments.dev]\nserver = "local"\n'
    )
    runner = CliRunner()
    base = ["--project", str(project)]
    try:
        up_result = runner.invoke(app, [*base, "up", "--no-redis"], env=CLI_ENV)
        assert up_result.exit_code == 0, up_result.output
        state = json.loads((project / ".dbenv" / "state.json").read_text())["postgres"]
        home = Path(state["data_dir"]).parent
        assert home.parent == Path("/var/lib/dbenv") and state["socket_dir"] == str(home / "run")
        assert f"the cluster lives in {home} instead" in up_result.stdout
        assert (home.stat().st_uid, home.stat().st_mode & 0o777) == (0, 0o755)
        assert project.stat().st_mode & 0o777 == 0o700  # never loosened
        status = runner.invoke(app, [*base, "status", "dev", "--json"], env=CLI_ENV)
        assert status.exit_code == 0 and '"reachable": true' in status.stdout, status.output
        again = runner.invoke(app, [*base, "up", "--no-redis"], env=CLI_ENV)
        assert again.exit_code == 0 and "already running" in again.output, again.output
    finally:
        down = runner.invoke(app, [*base, "down", "--purge"], env=CLI_ENV)
        shutil.rmtree(project, ignore_errors=True)
    assert down.exit_code == 0, down.output
    assert not home.exists()  # purge removes the relocated cluster too
    assert gone(state["pid"])


def test_initdb_cache_is_filled_once_then_copied(base: Path) -> None:
    cache = base / "cache"
    said: list[str] = []
    for name in ("one", "two"):
        LocalStack(base / name, redis=False, initdb_cache=cache, progress=said.append).start()
    assert said[0].startswith("initdb into") and any(
        line.startswith("copied a cached initdb") for line in said[1:]
    )
    with psycopg.connect(LocalStack(base / "two").urls().postgres) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_cached_initdb_others_could_write_is_not_used(base: Path) -> None:
    if not CACHE.exists():  # fill the module's cache (one initdb), then take a copy of it
        new_stack(base / "filler", redis=False).start()
    cache = base / "cache"
    shutil.copytree(CACHE, cache, symlinks=True)
    template = next(cache.iterdir())
    template.chmod(0o777)
    said: list[str] = []
    LocalStack(base / "two", redis=False, initdb_cache=cache, progress=said.append).start()
    assert any(line.startswith("initdb into") for line in said)
    assert not any(line.startswith("copied") for line in said)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs an unprivileged user")
def test_without_a_server_user_and_useradd_failing_the_error_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    from dbenv.stack import host as local_host

    def no_user(name: str) -> pwd.struct_passwd:
        raise KeyError(name)

    monkeypatch.setattr(local_host.pwd, "getpwnam", no_user)  # a machine with neither user
    monkeypatch.setattr(local_host.shutil, "which", lambda *_a, **_k: "/bin/false")
    with pytest.raises(ServerStartError) as caught:
        local_host.resolve_run_as()
    assert "creating the system user 'dbenv' failed" in str(caught.value)
    assert "useradd --system dbenv" in str(caught.value)


def test_a_restart_keeps_the_ports_when_they_are_free(base: Path) -> None:
    stack = new_stack(base / "data")
    first = stack.start()
    stack.stop()
    again = stack.start()
    assert first.state and again.state and first.state.postgres and again.state.postgres
    assert again.state.postgres.port == first.state.postgres.port
    if first.state.redis and again.state.redis:
        assert again.state.redis.port == first.state.redis.port


CHILD = """
import sys
from pathlib import Path
from dbenv.stack.local import LocalStack
from dbenv.errors import ServerStartError
try:
    LocalStack(Path(sys.argv[1]), redis=False).start()
except ServerStartError as error:
    print(error)
"""


def as_postgres_user(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` as the unprivileged ``postgres`` user (we are root)."""
    import site
    import sys

    python = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not python.exists():  # ours may live under /root, which that user cannot reach
        pytest.skip("no system Python the postgres user can run")
    user = pwd.getpwnam("postgres")
    paths = [*site.getsitepackages(), str(Path(__file__).resolve().parents[1] / "src")]
    return subprocess.run(
        [str(python), "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": os.pathsep.join(paths), "PATH": "/usr/bin:/bin"},
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        check=False,
    )


NON_ROOT = """
import os, sys
from pathlib import Path
from dbenv.stack.local import LocalStack
stack = LocalStack(Path(sys.argv[1]))
status = stack.start()
again = stack.start()
pids = [status.state.postgres.pid] + ([status.state.redis.pid] if status.state.redis else [])
stopped = stack.stop()
print(os.geteuid(), again.started == (), sorted(stopped.stopped) == sorted(pids))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_an_unprivileged_user_runs_the_stack_itself(base: Path) -> None:
    home = base / "home"
    home.mkdir()
    os.chown(home, pwd_uid("postgres"), -1)
    done = as_postgres_user(NON_ROOT, str(home / ".dbenv"), cwd=home)
    assert done.returncode == 0, done.stderr
    uid, idempotent, all_stopped = done.stdout.split()
    assert uid != "0" and idempotent == "True" and all_stopped == "True"
    assert (home / ".dbenv" / "postgres").stat().st_uid == pwd_uid("postgres")


def pwd_uid(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_a_data_dir_another_user_made_is_a_clear_error(base: Path) -> None:
    (base / "data" / "postgres").mkdir(parents=True, mode=0o700)  # root's, private
    (base / "data").chmod(0o755)
    done = as_postgres_user(CHILD, str(base / "data"), cwd=base)
    assert "belongs to another user" in done.stdout, done.stderr
    assert "Run dbenv as the user that created it" in done.stdout
    assert sorted((base / "data").iterdir()) == [base / "data" / "postgres"]  # unchanged


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
@pytest.mark.parametrize("made", [True, False])
def test_a_data_dir_the_user_may_not_write_is_a_clear_error(base: Path, made: bool) -> None:
    (base / "project").mkdir(mode=0o755)  # root's: others may enter, not write
    data = base / "project" / ".dbenv"
    if made:
        data.mkdir(mode=0o755)
    done = as_postgres_user(CHILD, str(data), cwd=base)
    assert "(permission denied); nothing was started." in done.stdout, done.stderr
    assert "set [local] data_dir" in done.stdout and "Traceback" not in done.stderr
    assert data.exists() == made and (not made or not any(data.iterdir()))


def test_two_projects_side_by_side(base: Path) -> None:
    one = new_stack(base / "one" / ".dbenv", redis=False)
    two = new_stack(base / "two" / ".dbenv", redis=False)
    a, b = one.start(), two.start()
    assert a.state and b.state and a.state.postgres and b.state.postgres
    assert a.state.postgres.port != b.state.postgres.port
    for stack in (one, two):
        with psycopg.connect(stack.urls().postgres) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    one.stop()
    assert two.status().running


def test_a_taken_port_picks_another_and_says_which(base: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = new_stack(base / "data", port=port, redis=False).start()
    assert status.state and status.state.postgres and status.state.postgres.port != port
    assert any(f"port {port} is taken" in note for note in status.notices)


def test_data_dir_of_another_major_version_is_refused_and_kept(base: Path) -> None:
    stack = new_stack(base / "data", redis=False)
    stack.start()
    stack.stop()
    version_file = base / "data" / "postgres" / "PG_VERSION"
    version_file.write_text("9\n")
    before = sorted(p.name for p in (base / "data" / "postgres").iterdir())
    with pytest.raises(ServerStartError, match="created by PostgreSQL 9"):
        stack.start()
    assert sorted(p.name for p in (base / "data" / "postgres").iterdir()) == before
    assert version_file.read_text() == "9\n"


def test_purge_only_with_the_marker(base: Path) -> None:
    stack = new_stack(base / "data", redis=False)
    stack.start()
    marker = base / "data" / MARKER
    saved = marker.read_text()
    marker.unlink()
    with pytest.raises(GuardRefusal, match="nothing was deleted"):
        stack.purge()
    assert (base / "data" / "postgres" / "PG_VERSION").exists()
    marker.write_text(saved)
    result = stack.purge()
    assert result.stopped and not (base / "data").exists()


def test_a_data_dir_that_existed_is_never_purged(base: Path) -> None:
    mine = base / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    stack = new_stack(mine, redis=False)
    stack.start()
    with pytest.raises(GuardRefusal):
        stack.purge()
    assert (mine / "notes.txt").read_text() == "keep me"


def test_binaries_not_found_lists_every_place(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = base / "empty"
    empty.mkdir()
    with pytest.raises(BinariesNotFound) as caught:
        new_stack(base / "data", pg_bindir=empty).start()
    assert str(empty) in str(caught.value) and "apt-get install postgresql" in str(caught.value)
    # a machine without installed packages: PATH empty, no /usr/lib/postgresql/*/bin
    monkeypatch.setattr("dbenv.stack.host.DEBIAN_ROOT", base / "no-debian")
    monkeypatch.setattr("dbenv.stack.host.SOURCE_BINDIR", base / "no-source")
    monkeypatch.setattr(
        "dbenv.stack.host._pgserver_bindir", lambda: Path("(pgserver not installed)")
    )
    with pytest.raises(BinariesNotFound) as caught:
        new_stack(base / "data", search_path=str(empty)).start()
    message = str(caught.value)
    for place in ("DBENV_PG_BINDIR", "PATH", str(base / "no-debian"), str(base / "no-source")):
        assert place in message
    assert "pgserver not installed" in message and "dbenv[embedded]" in message
    assert "apt-get install postgresql" in message
    assert not (base / "data" / "postgres").exists()


def test_without_a_system_install_the_pgserver_package_serves(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip install 'dbenv[embedded]' on a machine with no PostgreSQL: its binaries run
    the stack (as root, from a root-owned copy the server's user can reach)."""
    from dbenv.stack.host import find_pg_binaries

    empty = base / "empty"
    empty.mkdir()
    monkeypatch.setattr("dbenv.stack.host.DEBIAN_ROOT", base / "no-debian")
    monkeypatch.setattr("dbenv.stack.host.SOURCE_BINDIR", base / "no-source")
    found = find_pg_binaries(search_path=str(empty))
    assert found.bindir.parts[-3:] == ("pgserver", "pginstall", "bin") and found.major >= 16
    # the package may sit under a directory the server's user cannot enter (/root/...)
    private = base / "private"
    private.mkdir(mode=0o700)
    site = found.bindir.parents[2]  # site-packages: pgserver/pginstall and pgserver.libs
    for part in ("pgserver/pginstall", "pgserver.libs"):
        if (site / part).exists():
            shutil.copytree(site / part, private / "site" / part, symlinks=True)
    bindir = private / "site" / "pgserver" / "pginstall" / "bin"
    cache = base / "cache"
    stack = LocalStack(base / "data", redis=False, pg_bindir=bindir, binaries_cache=cache)
    status = stack.start()
    try:
        with psycopg.connect(stack.urls().postgres) as conn:
            row = conn.execute("SHOW server_version_num").fetchone()
        assert row is not None and int(row[0]) // 10000 == found.major
        assert status.state is not None and status.state.postgres is not None
        ran_from = Path(status.state.postgres.bindir)
        if os.geteuid() == 0:
            assert ran_from.is_relative_to(cache) and ran_from.stat().st_uid == 0
            assert private.stat().st_mode & 0o777 == 0o700  # never opened up
        else:
            assert ran_from == bindir
    finally:
        stack.stop()


def test_a_server_that_fails_to_start_reports_its_log(base: Path) -> None:
    stack = new_stack(base / "data", redis=False)
    stack.start()
    stack.stop()
    with (base / "data" / "postgres" / "postgresql.conf").open("a") as conf:
        conf.write("\nno_such_setting_dbenv = 1\n")
    with pytest.raises(ServerStartError) as caught:
        stack.start()
    assert "no_such_setting_dbenv" in str(caught.value)
    assert "postgres.log" in str(caught.value)
    assert not stack.status().running


def test_a_failing_initdb_reports_its_output_and_leaves_no_cluster(base: Path) -> None:
    fake = base / "fake-bin"  # a process edge: binaries that report a version, then fail
    fake.mkdir()
    (fake / "postgres").write_text("#!/bin/sh\necho 'postgres (PostgreSQL) 15.20'\n")
    (fake / "initdb").write_text("#!/bin/sh\necho 'initdb: error: disk is on fire' >&2\nexit 1\n")
    for tool in ("postgres", "initdb"):
        (fake / tool).chmod(0o755)
    with pytest.raises(ServerStartError) as caught:
        LocalStack(base / "data", pg_bindir=fake, redis=False).start()
    assert "initdb failed" in str(caught.value) and "disk is on fire" in str(caught.value)
    assert not (base / "data" / "postgres").exists()
    assert read_state(base / "data") is None


def test_interrupted_up_leaves_nothing_running(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    real_start = LocalStack._ensure_postgres

    def then_interrupt(self: LocalStack, *args: object, **kwargs: object) -> object:
        result = real_start(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(result[0].pid)
        raise KeyboardInterrupt  # Ctrl-C right after PostgreSQL came up

    monkeypatch.setattr(LocalStack, "_ensure_postgres", then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        new_stack(base / "data", redis=False).start()
    assert started and gone(started[0])
    assert read_state(base / "data") is None


def test_redis_failing_to_start_stops_postgres_too(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    real_start = LocalStack._ensure_postgres

    def remember(self: LocalStack, *args: object, **kwargs: object) -> object:
        result = real_start(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(result[0].pid)
        return result

    def broken(self: RedisProcess, port: int, **_: object) -> int:
        raise ServerStartError("redis-server exited with code 1; the last lines of redis.log")

    monkeypatch.setattr(LocalStack, "_ensure_postgres", remember)
    monkeypatch.setattr(RedisProcess, "start", broken)
    stack = new_stack(base / "data")
    if not stack._want_redis():
        missing("no redis-server on this machine")
    with pytest.raises(ServerStartError, match="redis-server exited"):
        stack.start()
    assert started and gone(started[0])
    assert read_state(base / "data") is None


def test_test_optimisations_only_on_a_disposable_cluster_dbenv_created(base: Path) -> None:
    def fsync(stack: LocalStack) -> str:
        stack.start()
        with psycopg.connect(stack.urls().postgres) as conn:
            value = conn.execute("SHOW fsync").fetchone()
        stack.stop()
        assert value is not None
        return str(value[0])

    data = base / "data"
    assert fsync(new_stack(data, redis=False)) == "off"
    assert fsync(new_stack(data, redis=False, disposable=False)) == "on"
    (data / MARKER).unlink()  # no proof dbenv created the cluster
    assert fsync(new_stack(data, redis=False)) == "on"


def test_tcp_needs_a_password_the_socket_does_not(base: Path) -> None:
    status = new_stack(base / "data", redis=False).start()
    assert status.state and status.state.postgres
    port = status.state.postgres.port
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=5)
    state_text = (base / "data" / "state.json").read_text()
    assert "password" not in state_text
    assert json.loads(state_text)["postgres"]["superuser"] == "postgres"


def test_a_long_data_dir_gets_a_short_socket_dir(base: Path) -> None:
    deep = base / ("d" * 60) / ("e" * 60)
    stack = new_stack(deep, redis=False)
    status = stack.start()
    assert status.state and status.state.postgres
    socket_dir = status.state.postgres.socket_dir
    assert len(socket_dir) + len("/.s.PGSQL.65535") <= SOCKET_PATH_MAX
    with psycopg.connect(stack.urls().postgres) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    stack.purge()
    assert not Path(socket_dir).exists() and not deep.exists()


def test_redis_starts_without_persistence_and_stops(base: Path) -> None:
    stack = new_stack(base / "data")
    status = stack.start()
    if status.state is None or status.state.redis is None:
        missing("no redis-server on this machine")
    import redis

    client = redis.Redis(port=status.state.redis.port)
    assert client.config_get("save") == {"save": ""}
    assert client.config_get("appendonly") == {"appendonly": "no"}
    client.close()
    pid = status.state.redis.pid
    stack.stop()
    assert gone(pid)


def test_redis_persist_keeps_keys_across_a_restart(base: Path) -> None:
    import redis

    (base / "dbenv.toml").write_text('[project]\nname = "p"\n[local]\nredis_persist = true\n')
    project = load_project(project=base, process_env=dict(os.environ))
    stack = stack_for(project)
    status = stack.start()
    if status.state is None or status.state.redis is None:
        missing("no redis-server on this machine")
    client = redis.Redis(port=status.state.redis.port)
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    client.set("kept", "1")
    client.close()
    stack.stop()
    again = stack.start()
    assert again.state is not None and again.state.redis is not None
    client = redis.Redis(port=again.state.redis.port)
    assert client.get("kept") == b"1"
    client.close()
    stack.stop()


def test_no_redis_binary_is_a_notice_not_an_error(base: Path) -> None:
    empty = base / "empty-path"
    empty.mkdir()
    status = new_stack(base / "data", search_path=str(empty)).start()
    assert status.state and status.state.redis is None and status.state.postgres
    assert any("redis-server not found" in note for note in status.notices)


def test_external_server_starts_and_stops_nothing(pg_server: object) -> None:
    dsn = pg_server.dsn  # type: ignore[attr-defined]
    server = ExternalServer(dsn)
    assert server.start().running and server.urls().postgres == dsn
    server.stop()
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not ExternalServer("postgresql://x@127.0.0.1:1/postgres").status().running


def test_connect_error_of_a_stopped_stack_is_clear(base: Path) -> None:
    from dbenv.backends.postgres import connect

    stack = new_stack(base / "data", redis=False)
    stack.start()
    url = stack.urls().postgres
    stack.stop()
    with pytest.raises(ConnectionFailed):
        connect(url, connect_timeout=2)
    with pytest.raises(ServerStartError, match="not running"):
        stack.urls()


# -- CLI -------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_up_up_down(base: Path) -> None:
    root = make_project(base / "app")
    first = runner.invoke(app, ["--project", str(root), "up", "--no-redis"], env=CLI_ENV)
    assert first.exit_code == 0, first.output
    assert "demo_test" in first.output
    assert "postgresql://demo_test:****@/demo_test?host=" in first.stdout  # its URL, masked
    second = runner.invoke(app, ["--project", str(root), "up", "--json", "--no-redis"], env=CLI_ENV)
    assert second.exit_code == 0
    data = json.loads(second.stdout)
    assert data["started"] == [] and data["state"]["postgres"]["pid"]
    pid = data["state"]["postgres"]["pid"]
    stopped = runner.invoke(app, ["--project", str(root), "down"])
    assert stopped.exit_code == 0 and str(pid) in stopped.output
    assert gone(pid)
    purged = runner.invoke(app, ["--project", str(root), "down", "--purge"])
    assert purged.exit_code == 0 and not (root / ".dbenv").exists()


def test_cli_up_without_binaries_exits_1_with_one_sentence(base: Path) -> None:
    root = make_project(base / "app")
    empty = base / "empty"
    empty.mkdir()
    (root / "dbenv.toml").write_text(
        (root / "dbenv.toml").read_text().replace("[local]\n", f'[local]\npg_bindir = "{empty}"\n')
    )
    result = runner.invoke(app, ["--project", str(root), "up"])
    assert result.exit_code == 1
    assert "no PostgreSQL binaries" in result.stderr and "Traceback" not in result.stderr
    assert not (root / ".dbenv").exists()  # nothing created


def test_cli_dbenv_pg_bindir_from_the_environment_wins(base: Path) -> None:
    root = make_project(base / "app")
    empty = base / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["--project", str(root), "up"], env={"DBENV_PG_BINDIR": str(empty)})
    assert result.exit_code == 1 and str(empty) in result.stderr


def test_cli_purge_without_marker_exits_3(base: Path) -> None:
    root = make_project(base / "app")
    (root / ".dbenv").mkdir()
    (root / ".dbenv" / "keep.txt").write_text("x")
    result = runner.invoke(app, ["--project", str(root), "down", "--purge"])
    assert result.exit_code == 3 and "nothing was deleted" in result.stderr
    assert (root / ".dbenv" / "keep.txt").exists()


# -- the suite's own servers (tests/conftest.py) ------------------------------------------
USES_PG = "def test_needs_pg(pg_server):\n    assert pg_server.port\n"


@pytest.mark.parametrize(("ci", "outcome"), [("", "skipped"), ("true", "failed")])
def test_missing_binaries_skip_locally_and_fail_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_uses_pg=USES_PG)
    empty = pytester.mkdir("no-binaries")
    monkeypatch.setenv("DBENV_PG_BINDIR", str(empty))
    monkeypatch.setenv("CI", ci)
    monkeypatch.delenv("DBENV_TEST_PG_DSN", raising=False)
    result = pytester.runpytest(
        "-p", "no:dbenv", "-p", "no:cacheprovider", "-p", "no:asyncio", "-ra"
    )
    result.assert_outcomes(**{outcome: 1} if outcome == "skipped" else {"errors": 1})
    assert "no PostgreSQL binaries" in result.stdout.str()
