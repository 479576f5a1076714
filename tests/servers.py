"""The types of the ``pg_server`` / ``redis_server`` fixtures (see conftest.py).

A plain module, so test modules import them by a name no other conftest shares:
``from servers import PgServer``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NoReturn

import pytest

__all__ = ["PgServer", "RedisServer", "missing"]


def missing(what: str) -> NoReturn:
    """No binaries: skip locally, fail under CI (a fresh machine must have them installed)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} (CI=true: install them, see .ci/run)", pytrace=False)
    pytest.skip(what)


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str = "postgres"
    password: str | None = None

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, dbname: str, user: str | None = None, password: str | None = None) -> str:
        user = user or self.user
        password = (
            password if password is not None else (self.password if user == self.user else None)
        )
        auth = f"{user}:{password}@" if password else f"{user}@"
        return f"postgresql://{auth}{self.host}:{self.port}/{dbname}"


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"
