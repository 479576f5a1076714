"""The pre-regroup module names still import, as the very modules of their new homes.

Code written against ``dbenv.guard``, ``dbenv.reset``, ``dbenv.sqlalchemy`` ... (the
names the docs used before the house was regrouped into domain packages) keeps
working, monkeypatches of them included, and nothing about it loads a driver.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from dbenv._moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_name_is_its_new_module(old: str) -> None:
    assert importlib.import_module(old) is importlib.import_module(MOVED[old])


def test_every_new_home_exists_and_no_old_file_is_left() -> None:
    import dbenv

    root = dbenv.__path__[0]
    for old, new in MOVED.items():
        assert importlib.util.find_spec(new) is not None, new
        old_file = root + "/" + "/".join(old.split(".")[1:]) + ".py"
        assert not __import__("os").path.exists(old_file), f"{old_file} should have moved to {new}"


def test_from_imports_and_attribute_patches_reach_the_new_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dbenv.guard import destructive  # documented before the regroup

    from dbenv.safety import guard

    assert destructive is guard.destructive
    monkeypatch.setattr("dbenv.template.template_name", lambda *a: "patched")
    from dbenv.lifecycle import template

    assert template.template_name() == "patched"  # type: ignore[call-arg]


def test_old_names_load_no_driver() -> None:
    code = (
        "import sys, dbenv.sqlalchemy, dbenv.check, dbenv.status;"
        "print(sorted(m for m in ('psycopg', 'redis', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_two_modules_that_became_packages_still_give_their_names() -> None:
    from dbenv.sources import fingerprint, parse_source
    from dbenv.sources.schema import fingerprint as new_fingerprint
    from dbenv.status import status
    from dbenv.status.report import status as new_status

    assert (status, fingerprint) == (new_status, new_fingerprint)
    assert callable(parse_source)
    with pytest.raises(ImportError):
        from dbenv.status import no_such_name  # noqa: F401
