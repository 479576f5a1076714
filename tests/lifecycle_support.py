"""Helpers for the guard/stamp/provision/status tests: projects on disk, database state.

``write_project`` writes a real ``dbenv.toml`` and ``load`` resolves it through
``dbenv.config.load_project``, so the tests exercise configuration as users write it.
``database_state`` is what "nothing changed" is compared with: the catalog of
every schema (dbenv's included), every table's row count, and the database-level
settings (the stamp marker lives there).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dbenv.config import Project, load_project
from dbenv.config.model import Environment
from dbenv.safety.stamp import write_stamp


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_project(root: Path, name: str, environments: Mapping[str, Mapping[str, object]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = ["[project]", f"name = {_toml_value(name)}", ""]
    for env_name, settings in environments.items():
        lines.append(f"[environments.{env_name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in settings.items())
        lines.append("")
    path = root / "dbenv.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def load(root: Path, process_env: Mapping[str, str] | None = None) -> Project:
    return load_project(project=root, process_env=dict(process_env or {}))


def create_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def stamp_as(dsn: str, project: str, environment: str, *, tier: str = "disposable") -> None:
    """Stamp the database at ``dsn`` as project/environment (superuser)."""
    env = Environment(name=environment, project=project, root=Path("."), tier=tier)  # type: ignore[arg-type]
    with psycopg.connect(dsn, autocommit=True) as conn:
        write_stamp(conn, project, env)


def drop_marker(dsn: str) -> None:
    """What a dump/restore does: the stamp table survives, the database marker does not."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        db = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        conn.execute(sql.SQL("ALTER DATABASE {} RESET ALL").format(sql.Identifier(db)))


@contextmanager
def _connection(target: str | psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    if isinstance(target, str):
        with psycopg.connect(target, autocommit=True) as conn:
            yield conn
    else:
        yield target


def database_state(dsn: str | psycopg.Connection[Any]) -> dict[str, Any]:
    """Catalog, row counts and database-level settings: equal means nothing changed."""
    with _connection(dsn) as conn:
        relations = conn.execute(
            """
            SELECT n.nspname, c.relname, c.relkind::text,
              (SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ','
                                 ORDER BY a.attnum)
               FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
               AND NOT a.attisdropped)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
            ORDER BY 1, 2
            """
        ).fetchall()
        counts = {}
        for schema, name, kind, _ in relations:
            if kind in ("r", "p"):
                query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(name)
                )
                counts[f"{schema}.{name}"] = conn.execute(query).fetchone()[0]  # type: ignore[index]
        settings = conn.execute(
            "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d"
            " ON d.oid = s.setdatabase WHERE d.datname = current_database()"
        ).fetchall()
        schemas = conn.execute("SELECT nspname FROM pg_namespace ORDER BY 1").fetchall()
    return {"relations": relations, "counts": counts, "settings": settings, "schemas": schemas}


def journal_rows(dsn: str | psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    with _connection(dsn) as conn:
        exists = conn.execute("SELECT to_regclass('dbenv.journal') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        return conn.execute(
            "SELECT operation, environment, outcome, override, snapshot, rows, detail,"
            " arguments FROM dbenv.journal ORDER BY id"
        ).fetchall()
