"""How the agents app talks to its environment's tables (seed 000, with dbenv).

APP_ENV=test python app.py prints the banner line and the test_ tables' row
counts; APP_ENV=production the unprefixed ones. Backend and frontend started with
``dbenv run ENV -- ...`` cannot disagree about the environment.
"""

from __future__ import annotations

import sqlalchemy as sa
from models import Base

import dbenv
from dbenv.sqlalchemy import create_engine, prefixed_metadata


def main() -> None:
    env = dbenv.load()
    metadata = prefixed_metadata(Base.metadata, env.prefix) if env.prefix else Base.metadata
    engine = create_engine(env, component="backend")
    with engine.connect() as conn:
        for logical in ("Agents", "Sessions", "Conversations"):
            table = metadata.tables[env.table(logical)]
            rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            print(f"{table.name}: {rows} rows")
    engine.dispose()


if __name__ == "__main__":
    main()
