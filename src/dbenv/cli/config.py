"""CLI for configuration: ``init``, ``envs``, ``config show/get``, ``run``, ``check``."""

from __future__ import annotations

from dbenv.cli.app import app

__all__ = ["app"]
