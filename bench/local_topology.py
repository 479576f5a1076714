"""Local stack, production-shaped: `dbenv up` with a replica and a pooler against plain `up`.

Issue 18's target: a warm `up` of a stack with `[local] replica = true` and
`pooler = true` costs at most 2x a warm `up` of the plain stack, measured in the
same run. Two projects of the same two environments (development, test), one
plain, one shaped; each round, interleaved so machine noise hits both alike:

- cold up: a fresh data directory (the cached pristine initdb copied, as after the
  first cold start on a machine) + start + provision; shaped: also the PgBouncer,
  the `pg_basebackup` of the primary, the standby started, and waiting until it
  has replayed the databases `up` created;
- warm up: the same after `dbenv down` (the data directories exist; shaped: the
  standby's data is reused, no base backup);
- down: every server stopped, waited for.

Library calls (``dbenv.commands.stack.up`` / ``down``), each stack started by the
benchmark itself in a temporary directory and purged at the end. Prints medians and
the ratios shaped / plain.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

PROJECT = """\
[project]
name = "bench"
default = "development"

[local]
{local}

[environments.development]
server = "local"

[environments.test]
server = "local"
tier = "disposable"
"""
SHAPES = {"plain": "", "replica + pooler": "replica = true\npooler = true"}


def _scratch() -> Path:
    path = Path(tempfile.mkdtemp(prefix="dbenv-bench-topo-"))
    path.chmod(0o755)  # the servers' unprivileged user must reach it when we are root
    return path


def one_round(times: dict[str, list[float]]) -> None:
    from dbenv.commands.stack import down, up
    from dbenv.config import load_project

    root = _scratch()
    try:
        for shape, local in SHAPES.items():
            folder = root / shape.replace(" ", "").replace("+", "_")
            folder.mkdir()
            (folder / "dbenv.toml").write_text(PROJECT.format(local=local))
            project = load_project(project=folder, process_env=dict(os.environ))
            try:
                for step, call in (("cold up", up), ("down", down), ("warm up", up)):
                    start = time.perf_counter()
                    call(project)
                    times[f"{step}, {shape}"].append(time.perf_counter() - start)
            finally:
                down(project, purge=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5, help="rounds (default 5)")
    args = parser.parse_args()
    labels = [f"{step}, {shape}" for step in ("cold up", "warm up", "down") for shape in SHAPES]
    times: dict[str, list[float]] = {label: [] for label in labels}
    for _ in range(args.n):
        one_round(times)
    medians = {label: statistics.median(values) for label, values in times.items()}
    for label in labels:
        print(f"{label:28} median {medians[label] * 1000:7.0f} ms  (N={args.n})")
    for step in ("cold up", "warm up", "down"):
        ratio = medians[f"{step}, replica + pooler"] / medians[f"{step}, plain"]
        print(f"ratio {step + ', replica + pooler':28} / plain {ratio:5.2f}x")
    warm = medians["warm up, replica + pooler"] / medians["warm up, plain"]
    print(f"target: warm up with replica + pooler <= 2x plain warm up: {warm:.2f}x", end=" ")
    print("(met)" if warm <= 2 else "(MISSED)")


if __name__ == "__main__":
    main()
