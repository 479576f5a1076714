"""How the agents app talks to its environment's tables (seed 000, with dbenv).

APP_ENV=test python app.py prints the test_ tables' row counts; APP_ENV=production
the unprefixed ones; ``python app.py init`` first creates the tables that are
missing (never drops any). Backend and frontend started with
``dbenv run ENV -- ...`` cannot disagree about the environment.
"""

from __future__ import annotations

import sys

import sqlalchemy as sa
from models import Base

import dbenv
from dbenv.integrations.sqlalchemy import create_engine, prefixed_metadata


def main() -> None:
    env = dbenv.load()
    metadata = prefixed_metadata(Base.metadata, env.prefix) if env.prefix else Base.metadata
    engine = create_engine(env, component="backend")
    if sys.argv[1:] == ["init"]:
        # seed 001's init_db: create the tables that are missing, never drop
        metadata.create_all(engine)
    with engine.connect() as conn:
        for logical in ("Agents", "Sessions", "Conversations"):
            table = metadata.tables[env.table(logical)]
            rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            print(f"{table.name}: {rows} rows")
    engine.dispose()


if __name__ == "__main__":
    main()
