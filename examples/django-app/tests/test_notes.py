"""The example's tests: plain pytest-django, on the database dbenv prepared."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from notes.models import Note


@pytest.mark.django_db
def test_a_note_is_saved() -> None:
    Note.objects.create(title="first", body="hello")
    assert Note.objects.count() == 1


@pytest.mark.django_db
def test_the_next_test_sees_none_of_it() -> None:
    assert not Note.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_real_commit_is_emptied_afterwards() -> None:
    Note.objects.create(title="committed")
    assert Note.objects.count() == 1


@pytest.mark.django_db
def test_the_rows_migrate_wrote_are_there() -> None:
    assert ContentType.objects.filter(app_label="notes", model="note").exists()


@pytest.mark.django_db
def test_django_is_on_dbenvs_test_database() -> None:
    settings = connection.settings_dict
    assert settings["OPTIONS"]["application_name"] == "dbenv:notes:test"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone()[0] == settings["NAME"]
    assert not settings["NAME"].startswith("test_")  # Django's own naming never ran
