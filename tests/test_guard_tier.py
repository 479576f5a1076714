"""The stamp is the authority on the tier; production names are protected by name.

A database stamped protected is refused to every destructive verb of an
environment the project file now calls disposable (the override does not get past
it); ``dbenv stamp ENV --tier disposable --i-mean-it=DB`` is the one way down and
takes a snapshot and a journal row. ``production``/``prod``/``live`` and the
project's ``production_names`` may not be declared disposable without
``disposable_despite_name``. ``dbenv check`` reports tiers the stamps contradict,
with or without a selected environment. ``guard_pattern = ""``/``false`` means no
name pattern.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from typer.testing import CliRunner, Result

from dbenv.cli import app
from dbenv.commands import lifecycle, lifecycle_data
from dbenv.commands import sync as sync_commands
from dbenv.commands.diff import apply_diff, diff_schemas
from dbenv.config import Project
from dbenv.errors import GuardRefusal
from dbenv.safety.stamp import read_stamp
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    journal_rows,
    load,
    stamp_as,
    unique,
    write_project,
)

REDIS_DB = 10


@pytest.fixture(autouse=True)
def _no_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Site:
    """``reporting``'s database stamped protected, a development source, production elsewhere."""

    root: Path
    pg: Any
    redis_url: str
    prefix: str
    database: str
    dsn: str
    source_dsn: str
    made: list[str] = field(default_factory=list)

    def environments(self, **reporting: object) -> dict[str, dict[str, object]]:
        return {
            "reporting": {
                "tier": "disposable",
                "database_url": self.dsn,
                "redis_url": self.redis_url,
                "redis_db": REDIS_DB,
                "redis_prefix": self.prefix,
                **reporting,
            },
            "development": {"tier": "disposable", "database_url": self.source_dsn},
            "production": {"database_url": self.pg.dsn_for(unique("g_nowhere"))},
        }

    def project(self, **reporting: object) -> Project:
        write_project(self.root, "app", self.environments(**reporting))
        return load(self.root)

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(app, ["--project", str(self.root), *args])


@pytest.fixture
def site(pg_server: Any, redis_server: Any, tmp_path: Path) -> Iterator[Site]:
    database, source = unique("g_reporting"), unique("g_devsource")
    made = [database, source]
    for name in made:
        create_database(pg_server.dsn, name)
    dsn = pg_server.dsn_for(database)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO items SELECT g, 'kept' FROM generate_series(1, 5) g")
    stamp_as(dsn, "app", "reporting", tier="protected")
    with psycopg.connect(pg_server.dsn_for(source), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, note text)")
        conn.execute("CREATE TABLE extra (id int PRIMARY KEY)")
        conn.execute("INSERT INTO items VALUES (9, 'synced')")
    prefix = f"gt{unique('')[1:]}:"
    yield Site(
        tmp_path,
        pg_server,
        redis_server.url,
        prefix,
        database,
        dsn,
        pg_server.dsn_for(source),
        made,
    )
    for name in made:
        drop_database(pg_server.dsn, name)


def _dump(site: Site, path: Path) -> Path:
    import subprocess

    subprocess.run(["pg_dump", "-Fc", "-f", str(path), "-d", site.source_dsn], check=True)
    return path


Verb = Callable[[Project, Site, str | None], object]

VERBS: dict[str, Verb] = {
    "reset": lambda p, s, o: lifecycle_data.reset(
        p, p.environment("reporting"), data_only=True, override=o
    ),
    "seed": lambda p, s, o: lifecycle_data.seed(
        p, p.environment("reporting"), [_seed_file(s)], override=o
    ),
    "flush": lambda p, s, o: lifecycle.flush(p, p.environment("reporting"), override=o),
    "restore": lambda p, s, o: sync_commands.restore(
        p, _dump(s, s.root / "source.dump"), p.environment("reporting"), jobs=1, override=o
    ),
    "sync": lambda p, s, o: sync_commands.sync(
        p, p.environment("development"), p.environment("reporting"), tables=["items"], override=o
    ),
    "clone": lambda p, s, o: sync_commands.clone(
        p, p.environment("development"), p.environment("reporting"), override=o
    ),
    "diff --apply": lambda p, s, o: apply_diff(
        diff_schemas("development", "reporting", project=lambda: p),
        project=p,
        override=o,
        allow_destructive=True,
    ),
}


def _seed_file(site: Site) -> Path:
    path = site.root / "seed.json"
    path.write_text(json.dumps({"items": [{"id": 6, "note": "seeded"}]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("override", ["none", "right"])
@pytest.mark.parametrize("verb", list(VERBS))
def test_every_verb_is_refused_by_the_stamps_tier(site: Site, verb: str, override: str) -> None:
    project = site.project()
    client = redis.Redis.from_url(site.redis_url, db=REDIS_DB)
    client.set(f"{site.prefix}kept", "x")
    before = database_state(site.dsn)
    with pytest.raises(GuardRefusal) as caught:
        VERBS[verb](project, site, site.database if override == "right" else None)
    error = caught.value
    assert error.check == "stamp-tier" and error.exit_code == 3
    assert "stamped protected" in error.message and "now declared disposable" in error.message
    assert f"dbenv stamp reporting --tier disposable --i-mean-it={site.database}" in (
        error.hint or ""
    )
    assert database_state(site.dsn) == before
    assert client.get(f"{site.prefix}kept") == b"x"
    client.delete(f"{site.prefix}kept")
    client.close()


def test_the_cli_refusal_is_one_sentence_with_the_fix(site: Site) -> None:
    site.project()
    result = site.invoke("reset", "reporting", "--data-only", f"--i-mean-it={site.database}")
    assert result.exit_code == 3, result.output
    assert "check 'stamp-tier' failed" in result.stderr and "Traceback" not in result.output
    assert f"--tier disposable --i-mean-it={site.database}" in result.stderr


def test_the_pytest_plugin_is_refused_too(site: Site, pytester: pytest.Pytester) -> None:
    toml = site.root / "dbenv.toml"
    write_project(site.root, "app", site.environments())
    (pytester.path / "dbenv.toml").write_text(
        toml.read_text().replace(
            'tier = "disposable"', 'tier = "disposable"\nschema_source = "sql:schema.sql"', 1
        )
    )
    (pytester.path / "schema.sql").write_text(
        "CREATE TABLE items (id int PRIMARY KEY, note text);\n"
    )
    pytester.makepyfile(test_refused="def test_x(db):\n    pass\n")
    before = database_state(site.dsn)
    result = pytester.runpytest("-p", "dbenv", "--dbenv-env", "reporting")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*refused to reset 'reporting': check 'stamp-tier' failed*"])
    assert database_state(site.dsn) == before


def test_lowering_the_stamp_is_named_snapshotted_and_journaled(site: Site) -> None:
    project = site.project()
    env = project.environment("reporting")
    before = database_state(site.dsn)
    with pytest.raises(GuardRefusal) as plain:  # re-stamping may not lower it quietly
        lifecycle.stamp(project, env, override=site.database)
    assert plain.value.check == "stamp-tier"
    with pytest.raises(GuardRefusal) as unnamed:
        lifecycle.stamp(project, env, tier="disposable")
    assert unnamed.value.check == "stamp-tier"
    assert f"--i-mean-it={site.database}" in (unnamed.value.hint or "")
    with pytest.raises(GuardRefusal) as wrong:
        lifecycle.stamp(project, env, tier="disposable", override="not_it")
    assert wrong.value.check == "override"
    assert database_state(site.dsn) == before

    result = lifecycle.stamp(project, env, tier="disposable", override=site.database)
    assert (result.previous_tier, result.stamp.tier) == ("protected", "disposable")
    assert result.snapshot is not None and Path(result.snapshot).is_file()
    with psycopg.connect(site.dsn, autocommit=True) as conn:
        stamp = read_stamp(conn, env)
    assert stamp is not None and stamp.tier == "disposable"
    row = journal_rows(site.dsn)[-1]
    assert row[:5] == ("stamp", "reporting", "ok", site.database, result.snapshot)
    assert row[7] == {"tier": "disposable"}
    # lowered on purpose: now a reset runs
    lifecycle_data.reset(project, env, data_only=True)
    assert database_state(site.dsn)["counts"]["public.items"] == 0


def test_stamp_tier_must_be_the_declared_one(site: Site) -> None:
    site.project()
    for tier, needle in (("protected", "declared with (disposable"), ("bogus", "--tier must be")):
        result = site.invoke("stamp", "reporting", "--tier", tier)
        assert result.exit_code == 2, result.output
        assert needle in result.stderr and "Traceback" not in result.output
    lowered = site.invoke(
        "stamp", "reporting", "--tier", "disposable", f"--i-mean-it={site.database}"
    )
    assert lowered.exit_code == 0, lowered.output
    assert "tier protected -> disposable" in lowered.stdout and "safety snapshot" in lowered.stdout


def test_a_protected_declaration_over_a_protected_stamp_keeps_the_override(site: Site) -> None:
    project = site.project(tier="protected")
    env = project.environment("reporting")
    with pytest.raises(GuardRefusal) as caught:
        lifecycle_data.reset(project, env, data_only=True)
    assert caught.value.check == "tier"
    lifecycle_data.reset(project, env, data_only=True, override=site.database)
    assert journal_rows(site.dsn)[-1][3] == site.database


# --- dbenv check ----------------------------------------------------------------------


def test_check_reports_tiers_the_stamps_contradict_without_a_selection(
    site: Site, pg_server: Any
) -> None:
    other = unique("g_stale")
    create_database(pg_server.dsn, other)
    site.made.append(other)
    stamp_as(pg_server.dsn_for(other), "app", "archive", tier="disposable")
    envs = site.environments()
    envs["archive"] = {"database_url": pg_server.dsn_for(other)}  # protected, stamped disposable
    envs["staging"] = {"database_url": "postgresql://app@127.0.0.1:1/app_staging"}
    write_project(site.root, "app", envs)  # no default, no APP_ENV

    result = site.invoke("check", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    found = {
        (f["environment"], f["severity"]) for f in data["findings"] if f["rule"] == "stamp-tier"
    }
    assert found == {("reporting", "error"), ("archive", "warning")}
    error = next(f for f in data["findings"] if f["environment"] == "reporting")
    assert f"--tier disposable --i-mean-it={site.database}" in error["fix"]
    assert any("could not read the stamp of 'staging'" in n for n in data["notes"])

    named = site.invoke("check", "staging")
    assert named.exit_code == 0, named.output
    assert "checked staging" in named.stdout
    offline = site.invoke("check", "reporting", "--offline")
    assert offline.exit_code == 0 and "stamp-tier" not in offline.stdout


# --- production names -------------------------------------------------------------------


def _toml(root: Path, text: str) -> Path:
    (root / "dbenv.toml").write_text(textwrap.dedent(text))
    return root


def _cli(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def test_the_issue_scenario_production_flipped_to_disposable(site: Site, pg_server: Any) -> None:
    """Production provisioned (stamped protected), then its tier edited to disposable."""
    stamp_as(site.dsn, "app", "production", tier="protected")
    envs = site.environments()
    envs["production"] = {"tier": "disposable", "database_url": site.dsn}
    del envs["reporting"]
    write_project(site.root, "app", envs)
    before = database_state(site.dsn)
    refused = site.invoke("reset", "production", "--data-only")
    assert refused.exit_code == 2, refused.output
    assert "named like production" in refused.stderr and "dbenv.toml:" in refused.stderr
    envs["production"]["disposable_despite_name"] = True
    write_project(site.root, "app", envs)
    still = site.invoke("reset", "production", "--data-only", f"--i-mean-it={site.database}")
    assert still.exit_code == 3, still.output
    assert "check 'stamp-tier' failed" in still.stderr
    assert database_state(site.dsn) == before


@pytest.mark.parametrize(
    ("name", "extra", "allowed"),
    [
        ("production", "", False),
        ("prod", "", False),
        ("live", "", False),
        ("prod-eu", "", False),
        ("Production_2", "", False),
        ("prd", 'production_names = ["prd"]\n', False),
        ("preprod", "", True),
        ("delivery", "", True),
    ],
)
def test_production_names_may_not_be_declared_disposable(
    tmp_path: Path, name: str, extra: str, allowed: bool
) -> None:
    root = _toml(
        tmp_path,
        f'[project]\nname = "app"\n{extra}\n[environments.{name}]\ntier = "disposable"\n'
        'database_url = "postgresql://app@127.0.0.1:1/app"\n',
    )
    result = _cli(root, "config", "get", name, "tier")
    if allowed:
        assert result.exit_code == 0 and result.stdout.strip() == "disposable", result.output
        return
    line = 6 if extra else 5
    assert result.exit_code == 2, result.output
    assert f"dbenv.toml:{line}" in result.stderr and "named like production" in result.stderr
    assert "disposable_despite_name = true" in result.stderr


def test_a_variable_cannot_make_production_disposable_either(tmp_path: Path) -> None:
    root = _toml(
        tmp_path,
        '[project]\nname = "app"\n[environments.production]\n'
        'database_url = "postgresql://app@127.0.0.1:1/app"\n',
    )
    result = CliRunner(env={"DBENV_PRODUCTION_TIER": "disposable"}).invoke(
        app, ["--project", str(root), "config", "get", "production", "tier"]
    )
    assert result.exit_code == 2 and "$DBENV_PRODUCTION_TIER" in result.stderr, result.output


def test_disposable_despite_name_allows_it(tmp_path: Path) -> None:
    root = _toml(
        tmp_path,
        '[project]\nname = "app"\n[environments.live]\ntier = "disposable"\n'
        "disposable_despite_name = true\n"
        'database_url = "postgresql://app@127.0.0.1:1/app"\n',
    )
    result = _cli(root, "config", "get", "live", "tier")
    assert result.exit_code == 0 and result.stdout.strip() == "disposable", result.output


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        ('[project]\nname = "app"\nproduction_names = "prd"\n', 3, "production_names"),
        ('[project]\nname = "app"\nproduction_names = [""]\n', 3, "non-empty"),
        (
            '[project]\nname = "app"\n[environments.live]\ndisposable_despite_name = "yes"\n',
            4,
            "true or false",
        ),
        (
            '[project]\nname = "app"\n[environments.staging]\ntier = "disposable"\n'
            "disposable_despite_name = true\n",
            5,
            "not named like production",
        ),
        (
            '[project]\nname = "app"\n[environments.live]\ndisposable_despite_name = true\n',
            4,
            "is not disposable",
        ),
    ],
)
def test_bad_tier_name_keys_are_bad_input(
    tmp_path: Path, body: str, line: int, needle: str
) -> None:
    root = _toml(tmp_path, body + 'database_url = "postgresql://app@127.0.0.1:1/app"\n')
    name = body.split("[environments.")[1].split("]")[0] if "[environments." in body else "x"
    result = _cli(root, "config", "get", name, "tier")
    assert result.exit_code == 2, result.output
    assert f"dbenv.toml:{line}" in result.stderr and needle in result.stderr
    assert "Traceback" not in result.output


# --- guard_pattern = "" / false -----------------------------------------------------------


@pytest.mark.parametrize(("pattern", "refused"), [(None, True), ("", False), (False, False)])
def test_an_explicit_empty_guard_pattern_means_none(
    site: Site, pg_server: Any, pattern: object, refused: bool
) -> None:
    name = unique("g_app")  # no "test" in it: the default pattern refuses it
    create_database(pg_server.dsn, name)
    site.made.append(name)
    dsn = pg_server.dsn_for(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY)")
        conn.execute("INSERT INTO items VALUES (1)")
    stamp_as(dsn, "app", "test")
    test: dict[str, object] = {"tier": "disposable", "database_url": dsn}
    if pattern is not None:
        test["guard_pattern"] = pattern
    write_project(site.root, "app", {"test": test})
    project = load(site.root)
    if refused:
        with pytest.raises(GuardRefusal) as caught:
            lifecycle_data.reset(project, project.environment("test"), data_only=True)
        assert caught.value.check == "pattern"
        return
    lifecycle_data.reset(project, project.environment("test"), data_only=True)
    assert database_state(dsn)["counts"]["public.items"] == 0


def test_guard_pattern_true_is_bad_input(tmp_path: Path) -> None:
    root = _toml(
        tmp_path,
        '[project]\nname = "app"\n[environments.test]\nguard_pattern = true\n',
    )
    result = _cli(root, "config", "get", "test", "tier")
    assert result.exit_code == 2 and "dbenv.toml:4" in result.stderr, result.output
    assert '"" / false for no name pattern' in result.stderr
