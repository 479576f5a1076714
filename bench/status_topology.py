"""`dbenv status` of an environment with a pooler and 2 replicas, against plain status.

Issue 18's target: status of an environment with a pooler + 2 replicas in at most
150 ms (its probes run in parallel). The peer, in the same run: status of an
environment of the same database without a topology. Both are the library call
``dbenv.status.report.status`` (what ``dbenv status`` runs after the CLI's start-up,
measured by cli_startup.py), interleaved N times so machine noise hits them alike.

The servers are real and started here, as the test suite starts them (its helpers
in tests/ are reused): a primary of its own, two hot standbys of it
(``pg_basebackup -R -X stream``) and a PgBouncer in transaction mode in front of the
primary (the ``pgbouncer`` binary; apt-get install pgbouncer).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the suite's server helpers

TARGET_MS = 150.0


def _project(root: Path, primary: str, pooler: str, replicas: list[str]) -> Path:
    listed = ", ".join(f'"{url}"' for url in replicas)
    (root / "dbenv.toml").write_text(
        '[project]\nname = "bench"\n\n'
        f'[environments.plain]\ndatabase_url = "{primary}"\n\n'
        f'[environments.production]\ndatabase_url = "{primary}"\n'
        f'pooler_url = "{pooler}"\npool_mode = "transaction"\nreplicas = [{listed}]\n'
    )
    return root


def _time(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=30, help="runs of each (default 30)")
    args = parser.parse_args()
    import psycopg

    from dbenv.config import load_project
    from dbenv.status.report import status
    from pgbouncer_support import start_pgbouncer
    from replica_support import start_replica_pair, start_standby

    root = Path(tempfile.mkdtemp(prefix="dbenv-bench-topology-"))
    root.chmod(0o755)  # the servers' unprivileged user must reach it when we are root
    started = time.perf_counter()
    stops: list[Callable[[], None]] = []  # whatever started is stopped, whatever failed
    try:
        pair = start_replica_pair(root / "pair")
        stops.append(pair.stop)
        second, cluster = start_standby(pair.primary, root / "standby2")
        stops.append(cluster.stop)
        (root / "pgbouncer").mkdir()
        bouncer = start_pgbouncer(pair.primary, root / "pgbouncer")
        stops.append(bouncer.stop)
        with psycopg.connect(pair.primary.dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE shop")
        with psycopg.connect(pair.primary.dsn_for("shop"), autocommit=True) as conn:
            for n in range(20):
                conn.execute(f"CREATE TABLE t{n} (id int PRIMARY KEY, v text)")
        pair.wait_replayed()
        print(f"(servers: primary, 2 standbys, pgbouncer in {time.perf_counter() - started:.1f} s)")
        replicas = [pair.standby.dsn_for("shop"), second.dsn_for("shop")]
        project = load_project(
            project=_project(root, pair.primary.dsn_for("shop"), bouncer.dsn_for("shop"), replicas),
            process_env={},
        )
        row = status(project, names=["production"]).environments[0]
        topology = row.topology
        assert topology is not None and topology.pooler is not None and topology.pooler.reachable
        assert all(r.reachable and r.in_recovery for r in topology.replicas), topology.replicas
        times: dict[str, list[float]] = {"plain": [], "production": []}
        for _ in range(args.n):
            for name, values in times.items():
                values.append(_time(lambda n=name: status(project, names=[n])))  # type: ignore[misc]
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(f"status, no topology           median {medians['plain']:7.1f} ms  (N={args.n})")
        print(f"status, pooler + 2 replicas   median {medians['production']:7.1f} ms  (N={args.n})")
        print(f"ratio topology / plain        {medians['production'] / medians['plain']:6.2f}x")
        verdict = "within" if medians["production"] <= TARGET_MS else "OVER"
        print(f"target {TARGET_MS:.0f} ms: {verdict}")
    finally:
        for stop in reversed(stops):
            stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
