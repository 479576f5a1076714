"""pytest-django beside dbenv's plugin: who owns ``db`` and ``django_db_setup``, and refusals.

Each run is a separate pytest process (Django's settings are process-global), on a
one-file Django project whose settings the test writes. The end-to-end run on a real
database is tests/test_django_example.py.
"""

from __future__ import annotations

import pytest

SETTINGS = """
SECRET_KEY = "x"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes"]
DATABASES = {databases}
"""
SQLITE = '{"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}'
POSTGRES = (
    '{"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "x", "HOST": "nowhere"},'
    ' "replica": {"ENGINE": "django.db.backends.postgresql", "NAME": "y", "HOST": "nowhere"}}'
)
TESTS = """
import pytest
from django.contrib.contenttypes.models import ContentType


@pytest.mark.django_db
def test_uses_the_database(db):
    assert db is None  # pytest-django's db, not dbenv's psycopg connection
    assert ContentType.objects.count() >= 0
"""
PROJECT = """
[project]
name = "djp"

[environments.test]
tier = "disposable"
database_url = "postgresql://djp@localhost:1/djp_test"
schema_source = "cmd:python manage.py migrate --noinput"
schema_inputs = ["settings_mod.py"]
"""


def project(pytester: pytest.Pytester, databases: str, *, dbenv_toml: bool) -> None:
    pytester.makepyfile(settings_mod=SETTINGS.format(databases=databases), test_it=TESTS)
    pytester.makeini("[pytest]\nDJANGO_SETTINGS_MODULE = settings_mod\n")
    if dbenv_toml:
        (pytester.path / "dbenv.toml").write_text(PROJECT)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "dbenv", "-p", "no:cacheprovider", *args)


def test_without_a_dbenv_project_pytest_django_keeps_its_own_test_database(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, SQLITE, dbenv_toml=False)
    result = run(pytester)
    result.assert_outcomes(passed=1)


def test_with_dbenv_turned_off_pytest_django_keeps_its_own_test_database(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, SQLITE, dbenv_toml=True)
    result = run(pytester, "--dbenv-disable")
    result.assert_outcomes(passed=1)


def test_a_non_postgresql_engine_is_refused_in_one_sentence(pytester: pytest.Pytester) -> None:
    project(pytester, SQLITE, dbenv_toml=True)
    result = run(pytester, "--no-migrations")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert (
        "dbenv: DATABASES['default'] uses ENGINE 'django.db.backends.sqlite3', but dbenv's "
        "test database is PostgreSQL." in output
    )
    assert "--no-migrations has no effect" in output
    assert "Traceback" not in output


def test_an_alias_dbenv_does_not_prepare_is_refused_before_any_connection(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, POSTGRES, dbenv_toml=True)
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*dbenv: DATABASES has aliases dbenv does not prepare (replica)*"])
