"""CLI start-up: `dbenv config show` on examples/dashtam against a bare `python -c pass`.

All run as subprocesses of the same interpreter, interleaved (N runs each), so
machine noise hits them alike; the ratio of the medians is the figure to watch. A
third peer, a one-option Typer app, shows how much of the cost is the CLI framework
itself (Typer builds a pydantic adapter per parameter).
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
TYPER_APP = (
    "import typer\n"
    "app = typer.Typer()\n"
    "@app.command()\n"
    "def main(name: str = 'x') -> None:\n"
    "    print(name)\n"
    "app()\n"
)


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
    peers = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "minimal typer app": [sys.executable, "-c", TYPER_APP, "--name", "x"],
        "dbenv config show test": [sys.executable, "-m", "dbenv", "config", "show", "test"],
    }
    times: dict[str, list[float]] = {label: [] for label in peers}
    for argv in peers.values():
        _time(argv)  # warm the file cache and .pyc files once
    for _ in range(args.n):
        for label, argv in peers.items():
            times[label].append(_time(argv))
    medians = {label: statistics.median(values) * 1000 for label, values in times.items()}
    for label, ms in medians.items():
        print(f"{label:24} median {ms:7.1f} ms  (N={args.n})")
    dbenv_ms = medians["dbenv config show test"]
    print(f"ratio dbenv / bare python   {dbenv_ms / medians['python -c pass']:6.2f}x")
    print(f"ratio dbenv / minimal typer {dbenv_ms / medians['minimal typer app']:6.2f}x")


if __name__ == "__main__":
    main()
