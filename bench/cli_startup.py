"""CLI start-up: `dbenv config show` on examples/dashtam against a bare `python -c pass`.

Both run as subprocesses of the same interpreter, interleaved (N runs each), so
machine noise hits both alike; the ratio of the medians is the figure to watch.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "dashtam"


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(argv, capture_output=True, cwd=DEMO, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {completed.stderr.decode(errors='replace')}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20, help="runs of each (default 20)")
    args = parser.parse_args()
    bare = [sys.executable, "-c", "pass"]
    dbenv = [sys.executable, "-m", "dbenv", "config", "show", "test"]
    _time(dbenv)  # warm the file cache and .pyc files once
    bare_times: list[float] = []
    dbenv_times: list[float] = []
    for _ in range(args.n):
        bare_times.append(_time(bare))
        dbenv_times.append(_time(dbenv))
    bare_ms = statistics.median(bare_times) * 1000
    dbenv_ms = statistics.median(dbenv_times) * 1000
    print(f"python -c pass            median {bare_ms:7.1f} ms  (N={args.n})")
    print(f"dbenv config show test    median {dbenv_ms:7.1f} ms  (N={args.n})")
    print(f"ratio dbenv / bare python {dbenv_ms / bare_ms:7.2f}x")


if __name__ == "__main__":
    main()
