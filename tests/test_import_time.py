"""Start-up stays light: the CLI's read commands never load a database driver.

Checked in fresh subprocesses, through ``sys.modules`` after the command ran and
through ``python -X importtime``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "dashtam"
# pydantic too: Typer 0.29 imports it for any non-boolean option (~0.25 s), hence typer<0.29
DRIVERS = ("psycopg", "sqlalchemy", "redis", "alembic", "asyncpg", "pydantic")

# Runs the CLI in-process, then reports which driver modules got imported.
WRAPPER = """
import sys
from dbenv.cli import app
try:
    app(args=sys.argv[1:], prog_name="dbenv")
except SystemExit:
    pass
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(DRIVERS))
sys.stderr.write("LOADED=" + ",".join(loaded) + "\\n")
"""


def _loaded_drivers(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"DRIVERS = {DRIVERS!r}\n" + WRAPPER, *args],
        capture_output=True,
        text=True,
        cwd=DEMO,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    line = next(li for li in done.stderr.splitlines() if li.startswith("LOADED="))
    loaded = line.removeprefix("LOADED=")
    return loaded.split(",") if loaded else []


@pytest.mark.parametrize(
    "args",
    [["--help"], ["envs"], ["config", "show"], ["config", "show", "test", "--origin", "--json"]],
    ids=["help", "envs", "config-show", "config-show-origin-json"],
)
def test_read_commands_load_no_driver(args: list[str]) -> None:
    assert _loaded_drivers(*args) == []


def test_the_wrapper_would_see_a_driver() -> None:
    # Guard against a wrapper that can never fail: importing psycopg must be seen.
    done = subprocess.run(
        [sys.executable, "-c", "import psycopg, sys; print('psycopg' in sys.modules)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip() == "True"


def test_importtime_of_dbenv_cli_shows_no_driver() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import dbenv.cli"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "dbenv.cli" in imported
    top = {name.split(".")[0] for name in imported}
    assert top.isdisjoint(DRIVERS), sorted(top & set(DRIVERS))
