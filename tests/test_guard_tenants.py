"""Prefix and schema environments inside a protected environment's database (check ``tenant``).

Issue 14 §7a, as a careless user would do it: ``ptest`` (``isolation = "prefix"``,
``prefix = "test_"``) declared on production's own database and role. It is
refused until production's *stamp* lists it as a tenant (a config edit alone is
not enough), and even then a table in its scope holding rows it did not create
(production's ``test_results``) stops every destructive operation until it is
claimed by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.commands.lifecycle import stamp
from dbenv.config import Project
from dbenv.errors import ConfigError, GuardRefusal
from dbenv.lifecycle.provision import provision
from dbenv.lifecycle.reset import reset
from dbenv.safety import guard
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    load,
    stamp_as,
    unique,
    write_project,
)


class Site:
    """Production's database (stamped protected, with rows) and a project around it."""

    def __init__(self, root: Path, url: str, database: str) -> None:
        self.root, self.url, self.database = root, url, database

    def project(
        self, *, tenants: list[str] | None = None, ptest: dict[str, object] | None = None
    ) -> Project:
        production: dict[str, object] = {"database_url": self.url}
        if tenants is not None:
            production["tenants"] = tenants
        envs = {
            "production": production,
            "ptest": {
                "tier": "disposable",
                "isolation": "prefix",
                "prefix": "test_",
                "database_url": self.url,
                **(ptest or {}),
            },
        }
        envs["ptest"] = {k: v for k, v in envs["ptest"].items() if v is not None}
        write_project(self.root, "app", envs)
        return load(self.root)

    def rows(self, table: str) -> int:
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0


@pytest.fixture
def site(pg_server: Any, tmp_path: Path) -> Iterator[Site]:
    database = unique("ten_prod")
    create_database(pg_server.dsn, database)
    url = pg_server.dsn_for(database)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
        conn.execute("INSERT INTO orders SELECT generate_series(1, 3)")
    stamp_as(url, "app", "production", tier="protected")
    yield Site(tmp_path, url, database)
    drop_database(pg_server.dsn, database)


def refused(call: Any) -> GuardRefusal:
    with pytest.raises(GuardRefusal) as caught:
        call()
    assert caught.value.exit_code == 3 and caught.value.hint
    return caught.value


def test_a_prefix_environment_not_listed_as_a_tenant_is_refused(site: Site) -> None:
    project = site.project()
    env = project.environment("ptest")
    before = database_state(site.url)
    error = refused(lambda: provision(project, env))
    assert error.check == "tenant" and "does not list it as a tenant" in error.message
    assert 'tenants = ["ptest"]' in (error.hint or "")
    unstamped = refused(lambda: reset(project, env, data_only=True))
    assert unstamped.check == "stamp" and "also failing: tenant" in unstamped.message
    assert database_state(site.url) == before
    # listing it in dbenv.toml alone permits nothing: production's stamp must say so
    listed = site.project(tenants=["ptest"])
    assert refused(lambda: provision(listed, listed.environment("ptest"))).check == "tenant"
    assert database_state(site.url) == before


def test_a_listed_tenant_runs_but_never_empties_rows_it_did_not_create(site: Site) -> None:
    project = site.project(tenants=["ptest"])
    stamp(project, project.environment("production"))  # production's stamp lists ptest
    env = project.environment("ptest")
    provision(project, env)
    with guard.destructive(project, env, "reset") as guarded:  # ptest makes its table
        guarded.conn.execute("CREATE TABLE test_items (id int)")
        guarded.conn.execute("INSERT INTO test_items VALUES (1), (2)")
    assert reset(project, env, data_only=True).rows_deleted == {"test_items": 2}
    # production, on its own, makes a table under ptest's prefix and fills it
    with psycopg.connect(site.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE test_results (id int)")
        conn.execute("INSERT INTO test_results SELECT generate_series(1, 500)")
    before = database_state(site.url)
    error = refused(lambda: reset(project, env, data_only=True))
    assert error.check == "tenant" and "public.test_results" in error.message
    assert f"--i-mean-it={site.database}" in (error.hint or "")
    with pytest.raises(GuardRefusal), guard.destructive(project, env, "reset"):
        pytest.fail("a full reset would drop production's table")
    assert database_state(site.url) == before and site.rows("test_results") == 500
    assert site.rows("orders") == 3


def test_claiming_by_name_makes_the_table_the_tenants(site: Site) -> None:
    project = site.project(tenants=["ptest"])
    stamp(project, project.environment("production"))
    env = project.environment("ptest")
    provision(project, env)
    with psycopg.connect(site.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE test_old (id int)")
        conn.execute("INSERT INTO test_old VALUES (1)")
    assert refused(lambda: stamp(project, env)).check == "tenant"
    stamp(project, env, override=site.database)  # named: these are ptest's
    assert reset(project, env, data_only=True).rows_deleted == {"test_old": 1}


def test_a_schema_environment_inside_production_and_an_alias_spelling(
    site: Site, pg_server: Any
) -> None:
    alias = f"postgresql://{pg_server.user}@127.1:{pg_server.port}/{site.database}"
    project = site.project(
        ptest={"isolation": "schema", "schema": "qa", "prefix": None, "database_url": alias}
    )
    before = database_state(site.url)
    error = refused(lambda: provision(project, project.environment("ptest")))
    assert error.check == "tenant" and "schema isolation" in error.message
    assert database_state(site.url) == before


@pytest.mark.parametrize(
    ("production", "ptest", "said"),
    [
        ({"tenants": ["nobody"]}, {}, "lists tenant 'nobody', which is not declared"),
        ({"tenants": ["ptest"], "isolation": "schema", "schema": "s"}, {}, "not in database"),
        ({"tenants": ["ptest"]}, {"isolation": "database"}, "not in prefix or schema"),
    ],
)
def test_bad_tenants_are_config_errors_naming_file_and_line(
    tmp_path: Path, production: dict[str, object], ptest: dict[str, object], said: str
) -> None:
    envs: dict[str, dict[str, object]] = {
        "production": {"database_url": "postgresql://a@h/p", **production},
        "ptest": {"tier": "disposable", "isolation": "prefix", "prefix": "t_", **ptest},
    }
    write_project(tmp_path, "app", envs)
    with pytest.raises(ConfigError) as caught:
        load(tmp_path)
    assert caught.value.exit_code == 2 and said in caught.value.message
    assert "dbenv.toml:" in caught.value.message and caught.value.line is not None
