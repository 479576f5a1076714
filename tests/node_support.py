"""Helpers for the Node examples' tests (examples/agents-node, examples/heliotrope).

The examples are real Node apps: their packages come from the npm registry through
each example's package-lock.json (``scripts/node-deps``, which ``make test`` and
``.ci/run`` run). A test copies the example's files into a temporary directory, links
the example's ``node_modules`` in, points the environments that live on the local
stack (``server = "local"``) at databases on the suite's server, and drives it with
the real ``dbenv`` command and ``npm``, as a user would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from servers import missing

ROOT = Path(__file__).resolve().parent.parent
DBENV = str(Path(sys.executable).parent / "dbenv")
# never copied: installed packages (linked instead), the local stack, build output
NOT_COPIED = shutil.ignore_patterns("node_modules", ".dbenv", "dist", ".env")


def example_copy(name: str, target: Path) -> Path:
    """``examples/<name>`` copied to ``target`` with its node_modules linked in."""
    source = ROOT / "examples" / name
    for tool in ("node", "npm", "npx"):
        if shutil.which(tool) is None:
            missing(f"{tool} is not installed (the Node examples need Node 20 and npm)")
    if not (source / "node_modules" / ".installed-from-lock").exists():
        missing(f"examples/{name}'s packages are not installed: run scripts/node-deps")
    shutil.copytree(source, target, ignore=NOT_COPIED)
    (target / "node_modules").symlink_to(source / "node_modules", target_is_directory=True)
    return target


def on_server(text: str, urls: Mapping[str, str]) -> str:
    """The project file with each named environment's local-stack target replaced by a URL.

    In ``[environments.NAME]``, ``server = "local"`` becomes ``database_url = URL`` and
    the ``database``/``user`` lines go (the URL names both); every other line stays.
    """
    out: list[str] = []
    current = None
    for line in text.splitlines():
        header = re.match(r"\[environments\.([\w-]+)\]", line)
        if line.startswith("["):
            current = header.group(1) if header else None
        if current in urls:
            if line.strip() == 'server = "local"':
                out.append(f'database_url = "{urls[current]}"')
                continue
            if re.match(r"(database|user) = ", line):
                continue
        out.append(line)
    return "\n".join(out) + "\n"


def clean_env(**extra: str) -> dict[str, str]:
    """The suite's environment without anything that selects or targets an environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("APP_ENV", "ENVIRONMENT", "NODE_ENV", "DATABASE_URL", "POSTGRES_URL")
        and not key.startswith(("DBENV_", "npm_"))
    }
    env.update(NO_COLOR="1", COLUMNS="200", **extra)
    return env


def dbenv(
    root: Path, *args: str, cwd: Path | None = None, timeout: float = 120, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``dbenv --project ROOT ARGS`` as a user runs it (output captured, never raises)."""
    return subprocess.run(
        [DBENV, "--project", str(root), *args],
        cwd=cwd or root,
        env=clean_env(**extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """The command's output; a failure shows what it printed."""
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(done.args)} exited {done.returncode}:\n{output}"
    return output
