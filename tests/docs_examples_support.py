"""Reading README.md and docs/*.md for tests/test_docs_examples.py: blocks, markers, matching.

Every fenced ```toml and ```console block is exercised; a block says how through an
HTML comment on the line(s) just above its fence (invisible on GitHub):

    <!-- docs-test: fragment -->                      a TOML fragment: completed with a
    <!-- docs-test: fragment name=shop environments=production,test:disposable -->
                                                      minimal project ([project] name, stub
                                                      environments), appended after it
                                                      (``environments=`` also completes a
                                                      whole file that names others)
    <!-- docs-test: session=dashtam project=examples/dashtam before="./prepare-demo" -->
                                                      a console block: run in a copy of the
                                                      project; blocks of one session run in
                                                      order in one copy

Console keys: ``session`` (required), ``project`` (on a session's first block:
``examples/NAME`` is copied, with a git work tree of its own tracking the files git
tracks here; ``above`` is the nearest TOML block above, completed as a fragment, in a
folder named ``app``), ``before`` (shell commands run first, output not compared,
exit 0 required; ``$DOCS_SETUP`` is tests/docs_setup/, for longer steps), ``env``
(``NAME=VALUE[,NAME=VALUE]`` for the session). A TOML block without a marker must be
a whole project file. The session ends with ``dbenv down`` when it started a stack.

Output comparison: each line the doc shows under a ``$ command`` must appear in the
command's output (stdout and stderr, merged), in order; lines in between may differ
(``...`` marks them for readers). In a line, ``...`` and Rich's ``…`` match any text;
two spaces and ``# ...`` at the end of a line is a reader's note. Table rows match
cell by cell, the doc's cells being a subset of the real ones, in order (a doc may
leave columns out). These vary from run to run and are replaced by placeholders on
both sides: durations (``1.2 s``, ``5.24 ms``), five-digit ports, pids, hex hashes of
12+ digits, ``YYYYMMDDTHHMMSS...Z`` timestamps, and PostgreSQL/Redis versions.
A command is expected to exit 0, unless the next one is ``echo $?`` (whose output is
then compared) or its output shows a ``dbenv: `` error line (then non-zero).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Block",
    "Command",
    "blocks",
    "commands",
    "complete_fragment",
    "mismatches",
]

MARKER = re.compile(r"^<!--\s*docs-test:(.*?)-->\s*$")
FENCE = re.compile(r"^```(\w*)\s*$")
BOX = set("┏┓┗┛┡┩└┘├┤┼┬┴━─┃│╇╈┳┻═╞╡╪ ")
CELL_SEPARATOR = re.compile(r"[│┃]")
PLACEHOLDERS = [
    (re.compile(r"\d+…"), "…"),  # a number Rich cut short is no number to compare
    (re.compile(r"\b\d{8}T\d{6,}Z\b"), "<timestamp>"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b"), "<time>"),
    (re.compile(r"\bpid \d+"), "pid <pid>"),
    (re.compile(r"(?<=[:=])\d{5}\b"), "<port>"),
    (re.compile(r"\b[0-9a-f]{12,}\b"), "<hash>"),
    (re.compile(r"\b(PostgreSQL|Redis) \d+(?:\.\d+)*"), r"\1 <version>"),
]
NOTE = re.compile(r"\s{2,}#\s.*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it starts, its language, its text and its marker."""

    path: Path
    line: int  # the fence's line, 1-based
    lang: str
    text: str
    marker: dict[str, str] = field(default_factory=dict)
    marked: bool = False

    @property
    def where(self) -> str:
        name = f"docs/{self.path.name}" if self.path.parent.name == "docs" else self.path.name
        return f"{name}:{self.line}"


@dataclass
class Command:
    """A ``$ command`` of a console block and the output lines the doc shows for it."""

    line: int
    text: str
    expected: list[str] = field(default_factory=list)


def _marker(comments: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for comment in comments:
        for word in shlex.split(comment):
            key, _, value = word.partition("=")
            found[key] = value
    return found


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a markdown file, each with the docs-test marker above it."""
    found: list[Block] = []
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        comments: list[str] = []
        above = index - 1
        while above >= 0 and (lines[above].strip() == "" or MARKER.match(lines[above])):
            match = MARKER.match(lines[above])
            if match:
                comments.insert(0, match.group(1))
            elif comments:
                break
            above -= 1
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        text = "\n".join(lines[index + 1 : end])
        found.append(
            Block(path, index + 1, opening.group(1), text, _marker(comments), bool(comments))
        )
        index = end + 1
    return found


def complete_fragment(block: Block) -> str:
    """The block's TOML with a minimal project appended (so its line numbers stay)."""
    marker = block.marker
    extra = []
    if not re.search(r"^\[project\]", block.text, re.M):
        extra.append(f'[project]\nname = "{marker.get("name") or "example"}"')
    for item in filter(None, marker.get("environments", "").split(",")):
        name, _, tier = item.partition(":")
        extra.append(
            f'[environments.{name}]\ntier = "{tier or "protected"}"\n'
            f'database_url = "postgresql://localhost/{name}"'
        )
    return block.text + "\n\n" + "\n\n".join(extra) + "\n"


def commands(block: Block) -> list[Command]:
    """The console block's commands, each with the output lines shown under it."""
    found: list[Command] = []
    for offset, raw in enumerate(block.text.splitlines(), start=1):
        if raw.startswith("$ "):
            found.append(Command(block.line + offset, raw[2:].strip()))
        elif found:
            found[-1].expected.append(raw)
        elif raw.strip():
            found.append(Command(block.line + offset, "", [raw]))
    return found


def normalise(line: str) -> str:
    for pattern, placeholder in PLACEHOLDERS:
        line = pattern.sub(placeholder, line)
    return line.strip()


def _is_border(line: str) -> bool:
    return bool(line.strip()) and set(line) <= BOX


def _cells(line: str) -> list[str] | None:
    if not CELL_SEPARATOR.search(line) or line.strip()[0] not in "│┃":
        return None
    return [cell.strip() for cell in CELL_SEPARATOR.split(line.strip())[1:-1]]


def _pattern(doc_text: str) -> re.Pattern[str]:
    pieces = re.split(r"\.\.\.|…", doc_text)
    return re.compile(".*".join(re.escape(piece) for piece in pieces), re.S)


def _line_matches(doc: str, actual: str) -> bool:
    doc_cells, real_cells = _cells(doc), _cells(actual)
    if doc_cells is None or real_cells is None:
        return doc_cells is None and real_cells is None and bool(_pattern(doc).fullmatch(actual))
    position = 0
    for cell in doc_cells:
        pattern = _pattern(cell)
        while position < len(real_cells) and not pattern.fullmatch(real_cells[position]):
            position += 1
        if position == len(real_cells):
            return False
        position += 1
    return True


def expected_lines(command: Command) -> list[str]:
    """The doc's lines worth comparing: no elisions, table borders or blank lines."""
    kept = []
    for raw in command.expected:
        line = normalise(NOTE.sub("", raw))
        if line and line != "..." and not _is_border(line):
            kept.append(line)
    return kept


def mismatches(command: Command, output: str) -> list[str]:
    """The doc's lines that the output lacks (in order), as readable complaints."""
    actual = [normalise(line) for line in output.splitlines()]
    actual = [line for line in actual if line and not _is_border(line)]
    missing = []
    position = 0
    for line in expected_lines(command):
        found = next(
            (i for i in range(position, len(actual)) if _line_matches(line, actual[i])), None
        )
        if found is None:
            missing.append(line)
        else:
            position = found + 1
    return missing
