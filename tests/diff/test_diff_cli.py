"""``dbenv diff`` end to end: exit codes, output forms, refusals, sources, the guarded apply."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "drift"
TABLE_A = "create table t (id int primary key, name text not null, tags text[]);"
TABLE_B = "create table t (id int primary key, name varchar(10), old text);"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def tables(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'public' order by table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def test_exit_code_is_zero_without_drift(make_db: Callable[[str], str]) -> None:
    a, b = make_db(TABLE_A), make_db(TABLE_A)
    result = invoke("diff", a, b, "--exit-code")
    assert result.exit_code == 0, result.output
    assert "No drift" in result.stdout


def test_exit_code_is_one_on_drift_and_report_groups_by_object(
    make_db: Callable[[str], str],
) -> None:
    a, b = make_db(TABLE_A), make_db(TABLE_B)
    result = invoke("diff", a, b, "--exit-code")
    assert result.exit_code == 1
    assert "table public.t" in result.stdout
    assert "DROP COLUMN old  [data loss]" in result.stdout
    assert "--allow-destructive" in result.stdout
    assert invoke("diff", a, b).exit_code == 0  # drift alone is not a failure


def test_objects_diff_does_not_compare_still_count_as_drift(
    make_db: Callable[[str], str],
) -> None:
    same = "create function same(int, int) returns bool language sql as 'select $1 = $2';"
    operator = "create operator === (leftarg = int, rightarg = int, function = same);"
    a, b = make_db(TABLE_A + same + operator), make_db(TABLE_A + same)
    result = invoke("diff", a, b, "--exit-code")
    assert result.exit_code == 1, result.output
    text = " ".join(result.stdout.split())  # long URLs wrap the lines
    assert "only in objects diff does not compare" in text
    assert "operator public.===(integer,integer) exists only in the source" in text
    data = json.loads(invoke("diff", a, b, "--json").stdout)
    assert data["drift"] is True and data["statements"] == []
    assert invoke("diff", a, a, "--exit-code").exit_code == 0


def test_json_and_sql_outputs(make_db: Callable[[str], str]) -> None:
    a, b = make_db(TABLE_A), make_db(TABLE_B)
    data = json.loads(invoke("diff", a, b, "--json").stdout)
    assert data["drift"] is True
    assert data["hazards"]["data loss"] == 1
    assert {s["hazard"] for s in data["statements"]} <= {
        "data loss",
        "table rewrite",
        "long lock",
        "none",
    }
    script = invoke("diff", a, b, "--sql").stdout
    assert "ALTER TABLE public.t DROP COLUMN old;" in script
    assert "[hazard: data loss]" in script


def test_password_never_printed(make_db: Callable[[str], str]) -> None:
    a, b = make_db(TABLE_A), make_db(TABLE_B)
    secret = "pw-" + uuid.uuid4().hex
    with_pw = b.replace("postgres@", f"postgres:{secret}@")
    result = invoke("diff", a, with_pw)
    assert result.exit_code == 0, result.output
    assert secret not in result.output
    refused = invoke("diff", a, with_pw, "--apply")
    assert refused.exit_code == 3 and secret not in refused.output


def test_bad_side_is_one_sentence_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("diff", "sql:missing.sql", "postgresql://x@127.0.0.1/none")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.output


def test_schema_source_needs_a_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.sql").write_text(TABLE_A)
    (tmp_path / "b.sql").write_text(TABLE_B)
    result = invoke("diff", "sql:a.sql", "sql:b.sql")
    assert result.exit_code == 2
    assert "--scratch" in result.stderr and "disposable" in result.stderr


def scratch_databases(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select datname from pg_database where datname like 'dbenv_diff_scratch_%'"
        ).fetchall()
    return [r[0] for r in rows]


def test_a_bare_url_side_is_not_a_scratch_server(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_db: Callable[[str], str],
    pg_server: object,
) -> None:
    """The other side's server is not assumed disposable: say how to give one, touch nothing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schema.sql").write_text(TABLE_A)
    b = make_db(TABLE_B)
    before = tables(b)
    result = invoke("diff", "sql:schema.sql", b)
    assert result.exit_code == 2, result.output
    assert "no disposable server is configured" in result.stderr
    assert "--scratch" in result.stderr and "Traceback" not in result.output
    assert tables(b) == before
    explicit = invoke("diff", "sql:schema.sql", b, "--scratch", pg_server.dsn)  # type: ignore[attr-defined]
    assert explicit.exit_code == 0, explicit.output


def test_sql_source_built_in_scratch_database(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_db: Callable[[str], str],
    pg_server: object,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schema.sql").write_text(TABLE_A)
    b = make_db(TABLE_B)
    server = pg_server.dsn  # type: ignore[attr-defined]
    result = invoke("diff", "sql:schema.sql", b, "--exit-code", "--scratch", server)
    assert result.exit_code == 1, result.output
    assert "tags" in result.stdout
    with psycopg.connect(pg_server.dsn) as conn:  # type: ignore[attr-defined]
        left = conn.execute(
            "select count(*) from pg_database where datname like 'dbenv_diff_scratch_%' "
            "and datname not in (select datname from pg_stat_activity where datname is not null)"
        ).fetchone()
    assert left == (0,)


def test_apply_to_url_needs_override_and_changes_nothing(make_db: Callable[[str], str]) -> None:
    a, b = make_db(TABLE_A), make_db("create table t (id int primary key);")
    before = tables(b)
    result = invoke("diff", a, b, "--apply")
    assert result.exit_code == 3
    assert "--i-mean-it=" in result.stderr
    assert tables(b) == before


def test_apply_refuses_data_loss_without_flag(make_db: Callable[[str], str]) -> None:
    a, b = make_db(TABLE_A), make_db(TABLE_B)
    db = b.rsplit("/", 1)[1]
    before = tables(b)
    result = invoke("diff", a, b, "--apply", f"--i-mean-it={db}")
    assert result.exit_code == 3
    assert "lose data" in result.stderr
    assert tables(b) == before


def test_apply_with_override_and_allow_destructive_converges(
    make_db: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no project here: the snapshot and journal go under .dbenv
    a, b = make_db(TABLE_A), make_db(TABLE_B)
    db = b.rsplit("/", 1)[1]
    result = invoke("diff", a, b, "--apply", f"--i-mean-it={db}", "--allow-destructive")
    assert result.exit_code == 0, result.output
    assert "Applied" in result.stdout
    assert "lost data (--allow-destructive)" in result.stdout
    assert "applying them needs" not in result.stdout
    assert invoke("diff", a, b, "--exit-code").exit_code == 0
    (snapshot,) = (tmp_path / ".dbenv" / "snapshots").iterdir()
    assert snapshot.stat().st_size > 0
    (entry,) = [json.loads(line) for line in (tmp_path / ".dbenv" / "journal.jsonl").open()]
    assert entry["operation"] == "diff-apply" and entry["outcome"] == "ok"
    assert entry["override"] == db and entry["snapshot"] == str(snapshot)


def test_schema_filters(make_db: Callable[[str], str]) -> None:
    a = make_db("create schema keep; create table keep.t (id int); create schema skip;")
    b = make_db("create schema keep; create schema skip; create table skip.x (id int);")
    only = json.loads(invoke("diff", a, b, "--json", "--schema", "keep").stdout)
    assert [s["object"] for s in only["statements"]] == ["table:keep.t"]
    excluded = json.loads(invoke("diff", a, b, "--json", "--exclude-schema", "keep").stdout)
    assert all("skip" in s["object"] for s in excluded["statements"])


@pytest.fixture
def drift_project(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_db: Callable[[str], str],
    pg_server: object,
) -> tuple[Path, str]:
    """The example project, its test database loaded with drifted.sql."""
    root = tmp_path / "drift"
    shutil.copytree(EXAMPLE, root)
    url = make_db((EXAMPLE / "drifted.sql").read_text())
    monkeypatch.setenv("DRIFT_TEST_URL", url)
    monkeypatch.setenv("DRIFT_ADMIN_URL", pg_server.dsn)  # type: ignore[attr-defined]
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)
    return root, url


def test_models_vs_test_environment_reports_drift(drift_project: tuple[Path, str]) -> None:
    root, _ = drift_project
    result = invoke(
        "--project", str(root), "diff", "sqlalchemy:models:Base.metadata", "test", "--exit-code"
    )
    assert result.exit_code == 1, result.output
    assert "ADD VALUE 'cancelled'" in result.stdout
    assert "ON DELETE CASCADE" in result.stdout
    assert "DROP COLUMN legacy_code  [data loss]" in result.stdout


def test_apply_to_environment_goes_through_the_guard(drift_project: tuple[Path, str]) -> None:
    root, _ = drift_project
    result = invoke(
        "--project",
        str(root),
        "diff",
        "sqlalchemy:models:Base.metadata",
        "test",
        "--apply",
        "--allow-destructive",
    )
    # The drifted database carries no stamp for project 'drift': the guard refuses.
    assert result.exit_code == 3, result.output
    again = invoke(
        "--project", str(root), "diff", "sqlalchemy:models:Base.metadata", "test", "--exit-code"
    )
    assert again.exit_code == 1


def test_a_url_naming_an_environments_database_goes_through_its_guard(
    drift_project: tuple[Path, str],
) -> None:
    """A URL is no way around the guard: test's own database, given as a URL, is 'test'."""
    root, url = drift_project
    db = url.rsplit("/", 1)[1]
    args = ("--project", str(root), "diff", "sqlalchemy:models:Base.metadata", url)
    result = invoke(*args, "--apply", "--allow-destructive", f"--i-mean-it={db}x")
    assert result.exit_code == 3, result.output
    assert "refused to diff-apply 'test'" in result.stderr and "check 'override'" in result.stderr
    assert invoke(*args, "--exit-code").exit_code == 1  # nothing applied


def test_apply_to_stamped_disposable_environment_converges(
    drift_project: tuple[Path, str],
) -> None:
    from dbenv.config.model import Environment
    from dbenv.safety.stamp import write_stamp

    root, url = drift_project
    with (root / "dbenv.toml").open("a") as toml:
        toml.write('guard_pattern = "^dbenv_diff_"\n')  # the fixture's database names
    env = Environment(name="test", project="drift", root=root, tier="disposable")  # type: ignore[arg-type]
    with psycopg.connect(url, autocommit=True) as conn:
        write_stamp(conn, "drift", env)
    args = ("--project", str(root), "diff", "sqlalchemy:models:Base.metadata", "test")
    refused = invoke(*args, "--apply")
    assert refused.exit_code == 3 and "lose data" in refused.stderr
    result = invoke(*args, "--apply", "--allow-destructive")
    assert result.exit_code == 0, result.output
    assert invoke(*args, "--exit-code").exit_code == 0
    assert "legacy_code" not in tables(url)["customers"]


def test_alembic_source_is_built_by_upgrade_head(
    tmp_path: Path, make_db: Callable[[str], str], pg_server: object
) -> None:
    from alembic import command
    from alembic.config import Config

    ini = tmp_path / "alembic.ini"
    config = Config(str(ini))
    command.init(config, str(tmp_path / "migrations"))
    text = ini.read_text().replace(
        "script_location = %(here)s/migrations", "script_location = migrations"
    )
    ini.write_text(text)
    (tmp_path / "migrations" / "versions" / "0001_init.py").write_text(
        '"""init"""\n'
        "from alembic import op\n"
        "import sqlalchemy as sa\n"
        'revision = "0001"\n'
        "down_revision = None\n"
        "branch_labels = None\n"
        "depends_on = None\n\n"
        "def upgrade():\n"
        '    op.create_table("t", sa.Column("id", sa.Integer, primary_key=True),\n'
        '                    sa.Column("name", sa.Text, nullable=False))\n\n'
        "def downgrade():\n"
        '    op.drop_table("t")\n'
    )
    b = make_db("create table t (id int primary key);")
    server = pg_server.dsn  # type: ignore[attr-defined]
    result = invoke("diff", f"alembic:{ini}", b, "--scratch-url", server, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    sqls = [s["sql"] for s in data["statements"]]
    assert "ALTER TABLE public.t ADD COLUMN name text NOT NULL" in sqls
    assert any("alembic_version" in s for s in sqls)  # alembic's own table is schema too


def test_environment_name_without_project_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("diff", "production", "postgresql://x@127.0.0.1/none")
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1


def test_unknown_environment_is_exit_2(drift_project: tuple[Path, str]) -> None:
    root, _ = drift_project
    result = invoke("--project", str(root), "diff", "staging", "test")
    assert result.exit_code == 2
    assert "staging" in result.stderr


def test_scratch_server_without_createdb_is_one_sentence(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    admin_conn: psycopg.Connection[tuple[object, ...]],
    make_db: Callable[[str], str],
    pg_server: object,
) -> None:
    role = f"dbenv_diff_nocreate_{uuid.uuid4().hex[:8]}"
    admin_conn.execute(f'CREATE ROLE "{role}" LOGIN'.encode())
    try:
        monkeypatch.chdir(tmp_path)
        (tmp_path / "s.sql").write_text(TABLE_A)
        b = make_db(TABLE_B)
        weak = pg_server.dsn_for("postgres", user=role)  # type: ignore[attr-defined]
        result = invoke("diff", "sql:s.sql", b, "--scratch", weak)
        assert result.exit_code == 1
        assert "could not create a scratch database" in result.stderr
        assert "internal error" not in result.stderr
    finally:
        admin_conn.execute(f'DROP ROLE "{role}"'.encode())


def test_models_are_built_with_the_environments_extensions(
    drift_project: tuple[Path, str],
) -> None:
    root, url = drift_project
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute('CREATE EXTENSION IF NOT EXISTS "pgcrypto"')  # what provision made
    args = ("--project", str(root), "diff", "sqlalchemy:models:Base.metadata", "test", "--sql")
    before = invoke(*args)
    assert "DROP EXTENSION" in before.stdout  # the models do not declare it
    text = (root / "dbenv.toml").read_text()
    (root / "dbenv.toml").write_text(
        text.replace("[environments.test]\n", '[environments.test]\nextensions = ["pgcrypto"]\n')
    )
    after = invoke(*args)
    assert after.exit_code == 0, after.output
    assert "EXTENSION" not in after.stdout
    assert "ADD VALUE 'cancelled'" in after.stdout  # the real drift is still reported


def scratch_project(root: Path, environments: dict[str, dict[str, str]]) -> Path:
    lines = ['[project]\nname = "scratchy"\n']
    for name, keys in environments.items():
        lines.append(f"[environments.{name}]")
        lines.extend(f'{key} = "{value}"' for key, value in keys.items())
    (root / "dbenv.toml").write_text("\n".join(lines) + "\n")
    (root / "s.sql").write_text(TABLE_A)
    return root


@pytest.fixture
def no_app_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_app_env")
def test_a_protected_environment_is_never_the_scratch_server(
    tmp_path: Path, make_db: Callable[[str], str]
) -> None:
    """Models vs production with no disposable server: refused before any server is touched."""
    production = make_db(TABLE_B)
    # An admin URL nothing listens on: using it would fail with exit 1, not refuse with 2.
    root = scratch_project(
        tmp_path,
        {
            "production": {
                "database_url": production,
                "admin_url": "postgresql://a:S3cr3t@127.0.0.1:1/postgres",
            }
        },
    )
    before = tables(production)
    result = invoke("--project", str(root), "diff", "sql:s.sql", "production")
    assert result.exit_code == 2, result.output
    assert "no disposable server is configured" in result.stderr
    assert "--scratch" in result.stderr and "S3cr3t" not in result.output
    assert tables(production) == before


@pytest.mark.usefixtures("no_app_env")
def test_the_disposable_test_environment_hosts_the_scratch_database(
    tmp_path: Path, make_db: Callable[[str], str], pg_server: object
) -> None:
    production, test = make_db(TABLE_B), make_db("")
    dead = "postgresql://a@127.0.0.1:1/postgres"
    root = scratch_project(
        tmp_path,
        {
            "production": {"database_url": production, "admin_url": dead},
            "test": {"tier": "disposable", "database_url": test, "admin_url": pg_server.dsn},  # type: ignore[attr-defined]
        },
    )
    result = invoke("--project", str(root), "diff", "sql:s.sql", "production", "--exit-code")
    assert result.exit_code == 1, result.output
    assert "DROP COLUMN old" in result.stdout
    assert "environment 'test'" in result.stderr  # progress names where it was built


@pytest.mark.usefixtures("no_app_env")
def test_scratch_option_names_an_environment_whatever_its_tier(
    tmp_path: Path, make_db: Callable[[str], str], pg_server: object
) -> None:
    production = make_db(TABLE_B)
    admin = pg_server.dsn  # type: ignore[attr-defined]
    root = scratch_project(
        tmp_path, {"production": {"database_url": production, "admin_url": admin}}
    )
    args = ("--project", str(root), "diff", "sql:s.sql", "production", "--exit-code")
    assert invoke(*args).exit_code == 2
    result = invoke(*args, "--scratch", "production")
    assert result.exit_code == 1, result.output
    assert "DROP COLUMN old" in result.stdout
    unknown = invoke(*args, "--scratch", "nosuch")
    assert unknown.exit_code == 2 and "nosuch" in unknown.stderr


def test_schema_filters_apply_to_objects_diff_does_not_compare(
    make_db: Callable[[str], str],
) -> None:
    same = (
        "create schema keep; create table keep.t (id int); create schema skip; "
        "create function skip.same(int, int) returns bool language sql as 'select $1 = $2';"
    )
    operator = "create operator skip.=== (leftarg = int, rightarg = int, function = skip.same);"
    a, b = make_db(same + operator), make_db(same)
    assert invoke("diff", a, b, "--exit-code").exit_code == 1
    excluded = invoke("diff", a, b, "--exit-code", "--exclude-schema", "skip")
    assert excluded.exit_code == 0, excluded.output
    assert invoke("diff", a, b, "--exit-code", "--schema", "keep").exit_code == 0
    assert invoke("diff", a, b, "--exit-code", "--schema", "skip").exit_code == 1


def test_database_wide_objects_diff_does_not_compare_count_only_in_a_whole_diff(
    make_db: Callable[[str], str],
) -> None:
    base = "create schema keep; create type keep.pair as (a int, b int);"
    cast = (
        "create function keep.to_pair(int) returns keep.pair language sql as 'select ($1, $1)';"
        "create cast (int as keep.pair) with function keep.to_pair(int);"
    )
    fn = "create function keep.to_pair(int) returns keep.pair language sql as 'select ($1, $1)';"
    a, b = make_db(base + cast), make_db(base + fn)
    assert invoke("diff", a, b, "--exit-code").exit_code == 1  # the cast
    assert invoke("diff", a, b, "--exit-code", "--schema", "keep").exit_code == 0


def test_a_url_stands_for_the_environment_owning_that_database(tmp_path: Path) -> None:
    """Not a schema-isolated environment inside it, and the protected one first."""
    from dbenv.commands.diff import _environment_at
    from fixtures.config.projects import project_at

    ci = (
        '[environments.ci]\ntier = "disposable"\nisolation = "schema"\nschema = "ci"\n'
        'database_url = "postgresql://app@db.example.com/app"\n'
    )
    prod = '[environments.prod]\ndatabase_url = "postgresql://app@db.example.com:5432/app"\n'
    both = project_at(tmp_path / "both", '[project]\nname = "p"\n' + ci + prod)
    found = _environment_at(both, "postgresql://other@db.example.com/app")
    assert found is not None and found.name == "prod"
    only_ci = project_at(tmp_path / "ci", '[project]\nname = "p"\n' + ci)
    assert _environment_at(only_ci, "postgresql://app@db.example.com/app") is None
