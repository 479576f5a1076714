"""Names the pytest plugin gives worker clones and kept copies: unique, within 63 bytes."""

from __future__ import annotations

from dbenv.pytest_plugin.names import failed_copy, suffixed, worker_database, worker_number


def test_short_names_are_plain() -> None:
    assert worker_database("app_test", "gw0") == "app_test_gw0"
    assert worker_database("app_test", None) == "app_test"


def test_long_names_keep_the_suffix_and_fit() -> None:
    base = "a" * 60
    zero, one = worker_database(base, "gw0"), worker_database(base, "gw1")
    assert zero != one
    assert zero.endswith("_gw0") and len(zero.encode()) <= 63
    assert suffixed("é" * 40, "gw12").endswith("_gw12")
    assert len(suffixed("é" * 40, "gw12").encode()) <= 63


def test_distinct_bases_stay_distinct_when_cut() -> None:
    assert suffixed("x" * 70 + "1", "gw0") != suffixed("x" * 70 + "2", "gw0")


def test_failed_copies_differ_per_test() -> None:
    assert failed_copy("app_test", "t.py::a") != failed_copy("app_test", "t.py::b")
    assert len(failed_copy("b" * 63, "t.py::a").encode()) <= 63


def test_worker_numbers() -> None:
    assert [worker_number(w) for w in (None, "gw0", "gw7", "gw12")] == [0, 0, 7, 12]
