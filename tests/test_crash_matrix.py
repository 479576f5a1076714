"""Crash safety of every destructive verb: SIGKILL and Ctrl-C at chosen moments.

Per verb, on one scenario: each case makes the target differ from what the verb
will make of it, runs the real CLI in a child stopped at a pause point
(``DBENV_TEST_PAUSE_AT``, docs/reliability.md lists them), signals it there, and
checks that the target holds its old state or its new one — per table, its columns
and a checksum of its rows — as that moment promises, never something between;
that it is still stamped as itself; that a Ctrl-C exits 130 with one line and no
traceback; and that the next run of the verb succeeds with no manual step and
leaves nothing behind (``dbenv status``'s leftovers). Last, a reader samples the
target throughout a run paused midway and never sees anything but old or new.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from crash_support import CrashSite, Paused, crash_site, leftovers, sessions_gone, state
from dbenv.config import load_project
from dbenv.safety.stamp import stamp_state

KILL, INT = signal.SIGKILL, signal.SIGINT
# verb -> (pause point, signal, the state the target must hold after it)
CASES: dict[str, list[tuple[str, int, str]]] = {
    "reset": [
        ("reset:building", KILL, "old"),
        ("reset:built", KILL, "old"),
        ("reset:swapped", KILL, "new"),
        ("reset:building", INT, "old"),
        ("reset:swapped", INT, "new"),
    ],
    "reset-data": [("reset-data:emptied", KILL, "old"), ("reset-data:emptied", INT, "old")],
    "seed": [("seed:written", KILL, "old"), ("seed:written", INT, "old")],
    "sync": [("sync:loaded", KILL, "old"), ("sync:loaded", INT, "old")],
    "restore": [
        ("restore:restoring", KILL, "old"),
        ("restore:built", KILL, "old"),
        ("restore:swapped", KILL, "new"),
        ("restore:built", INT, "old"),
    ],
    "clone": [
        ("clone:copying", KILL, "old"),
        ("clone:built", KILL, "old"),
        ("clone:swapped", KILL, "new"),
        ("clone:copying", INT, "old"),
    ],
    "diff-apply": [("diff-apply:applying", KILL, "old"), ("diff-apply:applying", INT, "old")],
}
# where each verb stands while the reader samples the target
MIDWAY = {
    "reset": "reset:built",
    "reset-data": "reset-data:emptied",
    "seed": "seed:written",
    "sync": "sync:loaded",
    "restore": "restore:restoring",
    "clone": "clone:copying",
    "diff-apply": "diff-apply:applying",
}
# what makes the target differ from what the verb will make of it
DIRTY = {
    "reset": "INSERT INTO clients (name) VALUES ('dirty')",
    "reset-data": "INSERT INTO clients (name) VALUES ('dirty')",
    "seed": "DELETE FROM prompts WHERE id = 1000",
    "sync": "DELETE FROM prompts WHERE id > 100",
    "restore": "INSERT INTO clients (name) VALUES ('after the dump')",
    "clone": "INSERT INTO clients (name) VALUES ('dirty')",
    "diff-apply": "ALTER TABLE prompts DROP COLUMN IF EXISTS extra",
}


@pytest.fixture
def site(pg_server: Any, tmp_path: Path) -> Iterator[CrashSite]:
    yield from crash_site(pg_server, tmp_path / "contentgen")


def _dirty(site: CrashSite, verb: str) -> dict[str, tuple[str, str]]:
    with psycopg.connect(site.test, autocommit=True) as conn:
        conn.execute(DIRTY[verb].encode())
    return state(site.test)


def _kill_at(site: CrashSite, tmp_path: Path, verb: str, case: tuple[str, int, str]) -> None:
    phase, sig, expected = case
    if phase == "reset:building":
        site.drop_templates()  # so this reset builds one
    old = _dirty(site, verb)
    code, err = Paused(site, verb, phase, tmp_path / f"{phase}-{sig}").finish(sig)
    if sig == INT:
        assert code == 130, err
        assert "dbenv: interrupted." in err and "Traceback" not in err, err
    else:
        assert code == -KILL, err
        sessions_gone(site)
    after = state(site.test)
    project = load_project(project=site.root, process_env={})
    with psycopg.connect(site.test) as conn:
        assert stamp_state(conn, site.project, project.environment("test")) == "ok", phase
    again = site.run(verb)  # no manual step
    assert again.returncode == 0, again.stderr
    new = state(site.test)
    assert new != old
    assert after == (old if expected == "old" else new), f"{phase}: not the {expected} state"
    assert leftovers(site) == (), phase


def _reader_sees_old_or_new(site: CrashSite, tmp_path: Path, verb: str) -> None:
    old = _dirty(site, verb)
    seen: list[Any] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(state(site.test))
            except psycopg.OperationalError:
                seen.append("disconnected")  # the swap ends sessions on the old database

    paused = Paused(site, verb, MIDWAY[verb], tmp_path / "reader")
    reader = threading.Thread(target=read)
    reader.start()
    try:
        # it looks while the verb stands midway (behind a sync's or a diff's table
        # locks it waits: also never half)
        threading.Event().wait(0.3)
        paused.release()
        code, err = paused.finish()
    finally:
        stop.set()
        reader.join(30)
    assert code == 0, err
    new = state(site.test)
    assert new != old
    half = [s for s in seen if s not in (old, new, "disconnected")]
    assert not half, f"a reader saw a half state: {half[0]}"
    assert seen and seen.count("disconnected") < len(seen)


@pytest.mark.parametrize("verb", list(CASES))
def test_a_killed_or_interrupted_verb_leaves_old_or_new(
    site: CrashSite, tmp_path: Path, verb: str
) -> None:
    if verb == "restore":  # a dump of test; each case first moves test on from it
        done = site.run_args(["dump", "test", "-o", "test.dump"])
        assert done.returncode == 0, done.stderr
    for case in CASES[verb]:
        _kill_at(site, tmp_path, verb, case)
    _reader_sees_old_or_new(site, tmp_path, verb)
