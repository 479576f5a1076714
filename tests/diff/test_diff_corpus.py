"""The correctness standard, case by case: plan A->B, apply to B, re-diff empty, dumps equal."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from dumpcheck import CORPUS, corpus_cases, finish_dump, start_dump

from dbenv.diff.apply import apply_plan
from dbenv.diff.introspect import introspect
from dbenv.diff.plan import build_plan


def _model(url: str):  # type: ignore[no-untyped-def]
    with psycopg.connect(url) as conn:
        return introspect(conn)


@pytest.mark.parametrize("case", corpus_cases())
def test_corpus_case_converges(case: str, make_db: Callable[[str], str]) -> None:
    folder = CORPUS / case
    a_url = make_db((folder / "a.sql").read_text())
    dump_a = start_dump(a_url)  # A no longer changes: dump it while B is worked on
    try:
        b_url = make_db((folder / "b.sql").read_text())
        wanted = _model(a_url)
        plan = build_plan(wanted, _model(b_url))
        assert not plan.empty, f"{case}: A and B differ, yet the plan is empty"
        with psycopg.connect(b_url, autocommit=True) as conn:
            apply_plan(conn, plan)

        again = build_plan(wanted, _model(b_url))
        assert again.empty, f"{case}: re-diff not empty:\n{again.sql()}"
        assert finish_dump(dump_a) == finish_dump(start_dump(b_url))
    finally:
        if dump_a.poll() is None:
            dump_a.kill()
            dump_a.wait()
