"""Every TOML block and every console block in README.md and docs/*.md is exercised.

TOML blocks are loaded and validated by dbenv's own loader (every environment
resolved, every schema_source parsed, [sync] checked). Console blocks run, command
by command, in a copy of the example project they name, on a real PostgreSQL and
Redis started by the block's own `dbenv up` (the machine's binaries, as the suite's
servers are), and the output lines the doc shows are looked for in what ran. How a
block is marked and what counts as a match: tests/docs_examples_support.py.
A failure names the markdown file and line of the block or command and what differed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbenv.config import load_project
from dbenv.errors import DbenvError
from dbenv.sources.schema import parse_source
from dbenv.sync.profiles import load_settings
from docs_examples_support import Block, Command, blocks, commands, complete_fragment, mismatches

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [block for path in DOCS for block in blocks(path)]
TOML = [block for block in BLOCKS if block.lang == "toml"]
CONSOLE = [block for block in BLOCKS if block.lang == "console"]
SESSIONS: dict[str, list[Block]] = {}
for _block in CONSOLE:
    if "session" in _block.marker:
        SESSIONS.setdefault(f"{_block.path.name}#{_block.marker['session']}", []).append(_block)
SHOWN_OUTPUT = 60  # lines of real output quoted in a failure


def test_every_console_block_names_its_session() -> None:
    unmarked = [block.where for block in CONSOLE if "session" not in block.marker]
    assert not unmarked, (
        "console blocks with no <!-- docs-test: session=... project=... --> marker above "
        "them (see tests/docs_examples_support.py): " + ", ".join(unmarked)
    )


def test_dbenv_sessions_are_written_as_console_blocks() -> None:
    # a `$ dbenv` transcript in a ```sh or bare block would escape the checks below
    hidden = [
        block.where
        for block in BLOCKS
        if block.lang != "console"
        and any(line.startswith("$ dbenv") for line in block.text.splitlines())
    ]
    assert not hidden, "write these `$ dbenv ...` transcripts as ```console blocks: " + ", ".join(
        hidden
    )


def test_the_docs_have_blocks_to_check() -> None:
    # a parser that finds nothing would pass every test below
    assert len(TOML) >= 5 and len(SESSIONS) >= 3, (len(TOML), list(SESSIONS))


def _process_env(block: Block) -> dict[str, str]:
    pairs = filter(None, block.marker.get("env", "").split(","))
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize("block", TOML, ids=[block.where for block in TOML])
def test_toml_block_is_a_valid_project_file(block: Block, tmp_path: Path) -> None:
    fragment = "fragment" in block.marker
    if not fragment and "[project]" not in block.text:
        pytest.fail(
            f"{block.where}: this TOML block is not a whole project file (no [project]); "
            "mark it <!-- docs-test: fragment --> so a minimal project completes it",
            pytrace=False,
        )
    path = tmp_path / "dbenv.toml"
    path.write_text(complete_fragment(block))
    try:
        project = load_project(project=path, process_env=_process_env(block))
        for name in project.environment_names:
            env = project.environment(name)
            if env.schema_source:
                parse_source(env.schema_source, environment=name, root=env.root)
        if project.sync:
            load_settings(project)
    except DbenvError as error:
        file = block.where.rsplit(":", 1)[0]
        line = f" (block line {error.line}: {file}:{block.line + error.line})"
        pytest.fail(
            f"{block.where}: dbenv rejects this TOML block: {error}{line if error.line else ''}",
            pytrace=False,
        )


def _session_env(block: Block) -> dict[str, str]:
    keep = {"DBENV_PG_BINDIR"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("APP_ENV", "ENVIRONMENT") and (not key.startswith("DBENV_") or key in keep)
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(COLUMNS="1000", PYTHONUNBUFFERED="1", NO_COLOR="1", TERM="dumb")
    env["DOCS_SETUP"] = str(Path(__file__).parent / "docs_setup")
    env.update(_process_env(block))
    return env


def _project_dir(block: Block, base: Path) -> Path:
    """A copy of the project the session's first block names."""
    name = block.marker.get("project", "")
    if name == "above":
        toml = [b for b in TOML if b.path == block.path and b.line < block.line][-1]
        target = base / "app"
        target.mkdir()
        (target / "dbenv.toml").write_text(complete_fragment(toml))
        return target
    if not name.startswith("examples/"):
        pytest.fail(f"{block.where}: project={name!r}: expected examples/NAME or above")
    listed = subprocess.run(
        ["git", "ls-files", name], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    target = base / Path(name).name
    for file in listed:
        destination = target / Path(file).relative_to(name)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / file, destination)
    # a work tree of its own tracking what the repository tracks, as `dbenv check` sees it there
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)
    return target


@pytest.fixture
def scratch_base() -> Iterator[Path]:
    # Under /tmp and searchable: as root, `dbenv up` runs PostgreSQL as an unprivileged
    # user that must reach the project's .dbenv/ (pytest's tmp_path is private).
    base = Path(tempfile.mkdtemp(prefix="dbenv-docs-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _run(command: str, cwd: Path, env: dict[str, str], previous: int) -> tuple[int, str]:
    done = subprocess.run(
        ["bash", "-c", f"(exit {previous}); {command}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=240,
    )
    return done.returncode, done.stdout


def _complaint(block: Block, command: Command, problem: str, output: str) -> str:
    lines = output.splitlines()
    shown = "\n".join(f"    | {line}" for line in lines[:SHOWN_OUTPUT])
    more = (
        f"\n    | ... ({len(lines) - SHOWN_OUTPUT} more lines)" if len(lines) > SHOWN_OUTPUT else ""
    )
    where = f"{block.where.rsplit(':', 1)[0]}:{command.line}"
    return f"{where}: $ {command.text}\n  {problem}\n  output:\n{shown}{more}"


def _run_block(block: Block, cwd: Path, env: dict[str, str]) -> list[str]:
    problems = []
    before = block.marker.get("before")
    if before:
        code, output = _run(before, cwd, env, 0)
        if code:
            hidden = Command(block.line, before)
            return [_complaint(block, hidden, f"the block's `before` exited {code}", output)]
    steps = commands(block)
    code = 0
    for index, command in enumerate(steps):
        if not command.text:
            problems.append(f"{block.where}: output shown before any `$ ` command")
            continue
        code, output = _run(command.text, cwd, env, code)
        echoed = index + 1 < len(steps) and steps[index + 1].text == "echo $?"
        shows_error = any(line.startswith("dbenv: ") for line in command.expected)
        if not echoed and bool(code) != shows_error:
            expected = "a non-zero exit (the doc shows an error)" if shows_error else "exit 0"
            problems.append(_complaint(block, command, f"exit {code}, expected {expected}", output))
        missing = mismatches(command, output)
        if missing:
            listed = "\n".join(f"    - {line}" for line in missing)
            problem = f"exit {code}; lines the doc shows that the output lacks:\n{listed}"
            problems.append(_complaint(block, command, problem, output))
    return problems


@pytest.mark.parametrize("session", list(SESSIONS), ids=list(SESSIONS))
def test_console_session_behaves_as_documented(session: str, scratch_base: Path) -> None:
    session_blocks = SESSIONS[session]
    env = _session_env(session_blocks[0])
    cwd = _project_dir(session_blocks[0], scratch_base)
    problems: list[str] = []
    try:
        for block in session_blocks:
            problems += _run_block(block, cwd, env)
    finally:
        if (cwd / ".dbenv").exists():
            _run("dbenv down", cwd, env, 0)
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def test_the_comparison_catches_a_changed_line_and_allows_placeholders() -> None:
    shown = Command(1, "dbenv reset test", ["reset test (template) in 1.160 s: 5 tables verified"])
    assert (
        mismatches(shown, "building...\nreset test (template) in 0.2 ms: 5 tables verified\n") == []
    )
    assert mismatches(shown, "reset test (template) in 0.2 s: 4 tables verified\n") == [
        "reset test (template) in <time>: 5 tables verified"
    ]
    table = Command(1, "dbenv envs", ["│ * │ dev │ postgresql://app@/dev?host=...&port=54… │"])
    real = "│ * │ dev │ protected │ postgresql://app@/dev?host=/tmp/x/run&port=40123 │ redis │"
    assert mismatches(table, real) == []
    assert mismatches(table, real.replace("* │ dev", "  │ dev")) != []
