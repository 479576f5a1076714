"""The ``dbenv`` command line: the Typer app plus every area's commands, and ``main()``.

Each area adds one import line below; its module attaches commands to ``app``.
"""

from __future__ import annotations

from dbenv.cli import config as _config  # noqa: F401  (init, envs, config, run, check)
from dbenv.cli import diff as _diff  # noqa: F401  (diff)
from dbenv.cli import env_export as _env_export  # noqa: F401  (env)
from dbenv.cli import lifecycle as _lifecycle  # noqa: F401  (provision, stamp, status, reset, seed, flush)
from dbenv.cli import stack as _stack  # noqa: F401  (up, down, compose)
from dbenv.cli import sync as _sync  # noqa: F401  (sync, dump, restore, clone)
from dbenv.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``dbenv`` console script."""
    app(prog_name="dbenv")
