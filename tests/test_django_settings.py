"""``dbenv.integrations.django.databases()``: Django's DATABASES from the active environment.

Each test writes a small dbenv.toml and calls ``databases()`` as a settings module
would; the process variables are the only input besides the file. No server is
needed: ``databases()`` only builds a dict (the example's tests connect with it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from dbenv.integrations.django import databases

SECRET = "s3cr3t-canary"
PROJECT = f"""
[project]
name = "notes"
selectors = ["APP_ENV", "DJANGO_SETTINGS_MODULE"]
default = "development"

[environments.development]
database_url = "postgresql://notes:{SECRET}@db.internal:5433/notes_dev?sslmode=require"
selector_values = {{ DJANGO_SETTINGS_MODULE = "shop.settings" }}

[environments.test]
tier = "disposable"
database_url = "postgresql://notes@localhost:5432/notes_test"
selector_values = {{ DJANGO_SETTINGS_MODULE = "shop.settings_test" }}

[environments.staging]
database_url = "postgresql://notes@localhost:5432/notes_shared"
isolation = "schema"
schema = "staging"

[environments.preview]
tier = "disposable"
database_url = "postgresql://notes@localhost:5432/notes_shared"
isolation = "prefix"
prefix = "preview_"

[environments.local]
tier = "disposable"
server = "local"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dbenv.toml").write_text(PROJECT)
    for name in ("APP_ENV", "ENVIRONMENT", "DJANGO_SETTINGS_MODULE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refusal(project: Path, *args: str, **kwargs: object) -> str:
    with pytest.raises(ImproperlyConfigured) as caught:
        databases(*args, project=project, **kwargs)  # type: ignore[arg-type]
    text = str(caught.value)
    assert text.startswith("dbenv: ") and SECRET not in text
    return text


def test_the_default_environment_gives_its_url_parts_and_libpq_options(project: Path) -> None:
    result = databases(project=project)
    assert list(result) == ["default"]
    assert result["default"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "notes_dev",
        "USER": "notes",
        "PASSWORD": SECRET,
        "HOST": "db.internal",
        "PORT": "5433",
        "OPTIONS": {"application_name": "dbenv:notes:development", "sslmode": "require"},
    }


def test_the_settings_module_selects_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "shop.settings_test")
    default = databases(project=project)["default"]
    assert (default["NAME"], default["OPTIONS"]["application_name"]) == (
        "notes_test",
        "dbenv:notes:test",
    )


def test_selectors_naming_two_environments_are_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # manage.py's setdefault leaves development's settings module beside APP_ENV=test
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "shop.settings")
    text = refusal(project)
    assert "$APP_ENV selects environment 'test'" in text
    assert "DJANGO_SETTINGS_MODULE=shop.settings is 'development''s" in text
    assert "dbenv run test --" in text


def test_an_explicit_environment_and_extra_settings(project: Path) -> None:
    default = databases("test", project=project, CONN_MAX_AGE=60, OPTIONS={"sslmode": "off"})[
        "default"
    ]
    assert default["CONN_MAX_AGE"] == 60
    assert default["OPTIONS"] == {"application_name": "dbenv:notes:test", "sslmode": "off"}


def test_schema_isolation_sets_the_search_path(project: Path) -> None:
    default = databases("staging", project=project)["default"]
    assert default["NAME"] == "notes_shared"
    assert default["OPTIONS"]["options"] == "-csearch_path=staging"  # as dbenv run exports it


def test_prefix_isolation_is_refused_in_one_sentence(project: Path) -> None:
    text = refusal(project, "preview")
    assert "'preview' uses prefix isolation, which Django cannot follow" in text


def test_no_database_is_one_sentence(project: Path) -> None:
    text = refusal(project, "local")
    assert "environment 'local' has no database." in text
    assert "dbenv up" in text


def test_missing_required_variables_are_named(project: Path) -> None:
    (project / "dbenv.toml").write_text(
        PROJECT.replace("[environments.test]\n", '[environments.test]\nrequired = ["SECRET_KEY"]\n')
    )
    text = refusal(project, "test")
    assert "missing required variables: SECRET_KEY" in text


def test_the_exported_url_in_the_process_wins(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # how a cmd: build, dbenv run and an xdist worker hand Django their database
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", "postgresql://notes@localhost:5432/dbenv_tpl_notes_ab12")
    assert databases(project=project)["default"]["NAME"] == "dbenv_tpl_notes_ab12"


def test_an_exported_url_naming_a_protected_database_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", f"postgres://notes:{SECRET}@db.internal:5433/notes_dev")
    text = refusal(project)
    assert "$DATABASE_URL names protected environment 'development''s database" in text


def test_a_protected_environments_own_url_in_the_process_is_its_own(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dbenv run development exports development's own URL: nothing to refuse
    monkeypatch.setenv("DATABASE_URL", f"postgresql://notes:{SECRET}@db.internal:5433/notes_dev")
    assert databases(project=project)["default"]["NAME"] == "notes_dev"


def test_a_django_test_database_name_that_is_protected_is_refused(project: Path) -> None:
    # Django's test runner drops test_<NAME> when it exists (keepdb off, --noinput)
    (project / "dbenv.toml").write_text(
        PROJECT
        + '\n[environments.archive]\ndatabase_url = "postgresql://notes@localhost/test_notes_test"\n'
    )
    text = refusal(project, "test")
    assert "Django's test database for 'test' would be 'test_notes_test'" in text
    assert "protected environment 'archive''s database" in text
    text = refusal(project, "test", TEST={"NAME": "notes_shared"})
    assert "would be 'notes_shared'" in text and "'staging''s database" in text
    # another server's database of that name is not the protected one
    assert databases("development", project=project, TEST={"NAME": "notes_shared"})


def test_the_project_is_found_from_the_settings_module_not_the_working_directory(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    package = project / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        "from dbenv.integrations.django import databases\nDATABASES = databases()\n"
    )
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    done = subprocess.run(
        [sys.executable, "-c", "import shop.settings as s; print(s.DATABASES['default']['NAME'])"],
        cwd=elsewhere,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "notes_dev"


def test_importing_the_integration_loads_no_django() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, dbenv.integrations.django; print('django' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"
