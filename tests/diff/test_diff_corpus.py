"""The correctness standard, case by case: plan A->B, apply to B, re-diff empty, dumps equal."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from dumpcheck import CORPUS, corpus_cases, finish_dump, start_dump

from dbenv.diff.apply import apply_plan
from dbenv.diff.introspect import introspect
from dbenv.diff.model import filter_model
from dbenv.diff.plan import build_plan


def _model(url: str):  # type: ignore[no-untyped-def]
    with psycopg.connect(url) as conn:
        return filter_model(introspect(conn))  # as dbenv diff reads a side


def _not_compared(folder: Path) -> tuple[list[str], list[str]]:
    """A case's declared limits (``not_compared.txt``): ``note: <text>`` lines the plan's
    notes must contain, ``dump: <text>`` lines naming the dump statements allowed to
    differ because of them."""
    path = folder / "not_compared.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    notes = [line.removeprefix("note: ") for line in lines if line.startswith("note: ")]
    dumps = [line.removeprefix("dump: ") for line in lines if line.startswith("dump: ")]
    return notes, dumps


@pytest.mark.parametrize("case", corpus_cases())
def test_corpus_case_converges(case: str, make_db: Callable[[str], str]) -> None:
    folder = CORPUS / case
    notes, dumps = _not_compared(folder)
    a_sql, b_sql = (folder / "a.sql").read_text(), (folder / "b.sql").read_text()
    _converges(case, a_sql, b_sql, notes, dumps, make_db)


# Cases that name schemas, the search path or database-wide objects cannot share a database.
_NOT_STACKABLE = re.compile(
    r"\bpublic\.|schema|search_path|event trigger|default privileges|extension|aggregate|"
    r"collation",
    re.IGNORECASE,
)


@pytest.mark.parametrize("way", ["a-to-b", "b-to-a", "a-from-nothing", "a-to-nothing"])
def test_many_cases_at_once_converge(make_db: Callable[[str], str], way: str) -> None:
    """Schemas that differ in many ways at once: each stackable case in its own schema;
    also the other way round (B as the source), and all of A created or dropped."""
    sides: dict[str, list[str]] = {"a": [], "b": []}
    for i, case in enumerate(corpus_cases()):
        folder = CORPUS / case
        texts = {side: (folder / f"{side}.sql").read_text() for side in sides}
        if (folder / "not_compared.txt").exists() or _NOT_STACKABLE.search("".join(texts.values())):
            continue
        for side, sql in texts.items():
            sides[side].append(f"create schema c{i}; set search_path = c{i}, public;\n{sql}\n")
    assert len(sides["a"]) > 100
    a_sql, b_sql = ("".join(sides[side]) + "reset search_path;" for side in "ab")
    a_sql, b_sql = {
        "a-to-b": (a_sql, b_sql),
        "b-to-a": (b_sql, a_sql),
        "a-from-nothing": (a_sql, ""),
        "a-to-nothing": ("", a_sql),
    }[way]
    _converges("all at once", a_sql, b_sql, [], [], make_db)


def _converges(
    case: str,
    a_sql: str,
    b_sql: str,
    notes: list[str],
    dumps: list[str],
    make_db: Callable[[str], str],
) -> None:
    a_url = make_db(a_sql)
    dump_a = start_dump(a_url)  # A no longer changes: dump it while B is worked on
    try:
        b_url = make_db(b_sql)
        wanted = _model(a_url)
        plan = build_plan(wanted, _model(b_url))
        assert plan.drift, f"{case}: A and B differ, yet the plan finds no drift"
        assert not plan.empty or notes, f"{case}: A and B differ, yet the plan is empty"
        for note in notes:
            assert any(note in n for n in plan.notes), f"{case}: no note on {note}"
        with psycopg.connect(b_url, autocommit=True) as conn:
            apply_plan(conn, plan)

        again = build_plan(wanted, _model(b_url))
        assert again.empty, f"{case}: re-diff not empty:\n{again.sql()}"
        got_a, got_b = finish_dump(dump_a), finish_dump(start_dump(b_url))
        if dumps:  # the declared differences are there, and nothing else differs

            def keep(statements: list[str]) -> list[str]:
                return [s for s in statements if not any(d in s for d in dumps)]

            assert got_a != got_b
            got_a, got_b = keep(got_a), keep(got_b)
        assert got_a == got_b
    finally:
        if dump_a.poll() is None:
            dump_a.kill()
            dump_a.wait()
