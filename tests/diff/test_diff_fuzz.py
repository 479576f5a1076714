"""Generated schema pairs (tests/diff/generate*.py) through the corpus's convergence check.

The CI set: ``GROUPS`` groups of ``PER_GROUP`` seeds, each seed's pair in schemas of its
own, stacked into one database pair and run both ways. The seeds are fixed, so the outcome
is the same on every run. ``DBENV_DIFF_FUZZ=START:COUNT`` adds one test per seed and
direction (each on its own databases, with extensions), for exploring new seeds.
``DBENV_DIFF_FUZZ_STACKED=START:GROUPS:PER_GROUP`` runs more stacked groups (seeds meet
other seeds' objects in one database, as in CI).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from generate_mutate import pair
from test_diff_corpus import _converges

GROUPS, PER_GROUP = 16, 20


@pytest.mark.parametrize("way", ["ab", "ba"])
@pytest.mark.parametrize("group", range(GROUPS))
def test_generated_pairs_converge(group: int, way: str, make_db: Callable[[str], str]) -> None:
    _stacked(range(group * PER_GROUP, (group + 1) * PER_GROUP), way, make_db)


def _stacked(seeds: range, way: str, make_db: Callable[[str], str]) -> None:
    pairs = [pair(seed, prefix=f"fz{seed}") for seed in seeds]
    a_sql, b_sql = ("\n".join(p[i] for p in pairs) for i in (0, 1))
    if way == "ba":
        a_sql, b_sql = b_sql, a_sql
    _converges(f"seeds {seeds.start}-{seeds.stop - 1} {way}", a_sql, b_sql, [], [], make_db)


if os.environ.get("DBENV_DIFF_FUZZ"):  # defined only when asked for: nothing to skip

    @pytest.mark.parametrize("way", ["ab", "ba"])
    @pytest.mark.parametrize(
        "seed",
        range(*(lambda s, n: (s, s + n))(*map(int, os.environ["DBENV_DIFF_FUZZ"].split(":")))),
    )
    def test_explore_seed(seed: int, way: str, make_db: Callable[[str], str]) -> None:
        a_sql, b_sql = pair(seed)
        if way == "ba":
            a_sql, b_sql = b_sql, a_sql
        _converges(f"seed {seed} {way}", a_sql, b_sql, [], [], make_db)


if os.environ.get("DBENV_DIFF_FUZZ_STACKED"):
    _START, _GROUPS, _PER = map(int, os.environ["DBENV_DIFF_FUZZ_STACKED"].split(":"))

    @pytest.mark.parametrize("way", ["ab", "ba"])
    @pytest.mark.parametrize("start", range(_START, _START + _GROUPS * _PER, _PER))
    def test_explore_stacked(start: int, way: str, make_db: Callable[[str], str]) -> None:
        _stacked(range(start, start + _PER), way, make_db)
