"""Local stack: `dbenv up` cold and warm, `dbenv down`, beside pytest-postgresql's start.

Measured in one run, interleaved round by round so machine noise hits all alike:

- dbenv cold up: initdb + start PostgreSQL and Redis + provision the dev and test
  databases (library call ``dbenv.commands.stack.up`` on a fresh project), once
  with a real initdb and once copying the cached pristine initdb (the default
  after the first cold start on a machine);
- LocalStack.start (initdb only): the same work as pytest-postgresql's start: a real
  initdb and PostgreSQL started, no Redis, no databases created;
- dbenv warm up: the same on the existing data directory (after ``down``);
- dbenv down: fast shutdown of both servers, waited for;
- pytest-postgresql: ``PostgreSQLExecutor.start()`` (what its ``postgresql_proc``
  fixture does: ``pg_ctl initdb`` + ``pg_ctl start -w`` + a TCP check) and ``stop()``,
  run as the ``postgres`` user when we are root (PostgreSQL refuses root);
- the CLI's ``dbenv up`` (warm) as a subprocess, Python start-up included.

Prints medians and the ratios dbenv / pytest-postgresql (below 1: dbenv is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import site
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = """\
[project]
name = "bench"
default = "development"

[environments.development]
server = "local"

[environments.test]
server = "local"
tier = "disposable"
"""


def _scratch() -> Path:
    path = Path(tempfile.mkdtemp(prefix="dbenv-bench-"))
    path.chmod(0o755)  # the server's unprivileged user must reach it when we are root
    return path


def _timed(func: object) -> float:
    start = time.perf_counter()
    func()  # type: ignore[operator]
    return time.perf_counter() - start


def dbenv_round(times: dict[str, list[float]]) -> None:
    from dbenv.commands.stack import down, up
    from dbenv.config import load_project
    from dbenv.stack.local import LocalStack

    root = _scratch()
    try:
        (root / "cold").mkdir()
        (root / "cold" / "dbenv.toml").write_text(PROJECT)
        no_cache = {**os.environ, "DBENV_NO_INITDB_CACHE": "1"}
        cold = load_project(project=root / "cold", process_env=no_cache)
        times["dbenv cold up (initdb)"].append(_timed(lambda: up(cold)))
        down(cold, purge=True)
        bare = LocalStack(root / "bare", redis=False)
        times["LocalStack.start (initdb only)"].append(_timed(bare.start))
        bare.purge()
        (root / "dbenv.toml").write_text(PROJECT)
        project = load_project(project=root, process_env=dict(os.environ))
        times["dbenv cold up (cached initdb)"].append(_timed(lambda: up(project)))
        times["dbenv down"].append(_timed(lambda: down(project)))
        times["dbenv warm up"].append(_timed(lambda: up(project)))
        cli = [sys.executable, "-m", "dbenv", "--project", str(root), "up"]
        down(project)
        times["dbenv up (CLI, warm)"].append(
            _timed(lambda: subprocess.run(cli, capture_output=True, check=True))
        )
        down(project, purge=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def child(datadir: str, port: int) -> None:
    """Run inside the subprocess: time pytest-postgresql's executor start and stop."""
    from pytest_postgresql.executors import PostgreSQLExecutor

    from dbenv.stack.host import find_pg_binaries

    bindir = find_pg_binaries().bindir
    executor = PostgreSQLExecutor(
        executable=str(bindir / "pg_ctl"),
        host="127.0.0.1",
        port=port,
        datadir=datadir,
        unixsocketdir=str(Path(datadir).parent),
        logfile=str(Path(datadir).parent / "postgresql.log"),
        startparams="-w",
        dbname="bench_test",
    )
    start = _timed(executor.start)
    stop = _timed(executor.stop)
    print(json.dumps({"start": start, "stop": stop}))


def _python_for_child() -> str:
    """This interpreter, or (as root) a system one of the same version that the postgres
    user can reach: a pyenv/venv interpreter under /root is not searchable by it."""
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if os.geteuid() == 0 and system.exists():
        return str(system)
    return sys.executable


def peer_round(times: dict[str, list[float]]) -> None:
    from dbenv.stack.host import free_port

    root = _scratch()
    user: dict[str, object] = {}
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
        user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    try:
        argv = [_python_for_child(), __file__, "--child", str(root / "data"), str(free_port())]
        paths = [*site.getsitepackages(), str(Path(__file__).resolve().parent.parent / "src")]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": os.pathsep.join(paths)}
        done = subprocess.run(
            argv, capture_output=True, text=True, cwd=root, env=env, check=False, **user
        )  # type: ignore[call-overload]
        if done.returncode != 0:
            sys.exit(f"pytest-postgresql run failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        times["pytest-postgresql start"].append(result["start"])
        times["pytest-postgresql stop"].append(result["stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--child", nargs=2, metavar=("DATADIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    labels = [
        "LocalStack.start (initdb only)",
        "dbenv cold up (initdb)",
        "dbenv cold up (cached initdb)",
        "dbenv warm up",
        "dbenv down",
        "dbenv up (CLI, warm)",
        "pytest-postgresql start",
        "pytest-postgresql stop",
    ]
    times: dict[str, list[float]] = {label: [] for label in labels}
    for _ in range(args.n):
        dbenv_round(times)
        peer_round(times)
    medians = {label: statistics.median(values) for label, values in times.items()}
    for label in labels:
        print(f"{label:30} median {medians[label] * 1000:7.0f} ms  (N={args.n})")
    peer = medians["pytest-postgresql start"]
    for label in labels[:4]:
        print(f"ratio {label:30} / pytest-postgresql start {medians[label] / peer:5.2f}x")
    stop = medians["pytest-postgresql stop"]
    print(f"ratio {'dbenv down':30} / pytest-postgresql stop  {medians['dbenv down'] / stop:5.2f}x")


if __name__ == "__main__":
    main()
