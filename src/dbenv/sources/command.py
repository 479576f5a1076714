"""The ``cmd:`` schema source: the app's own tool builds the schema, dbenv points it.

``schema_source = "cmd:npx drizzle-kit push --force"`` (Prisma, Rails, Django,
dbmate, Flyway, ``psql -f``: any command line) with ``schema_inputs = ["drizzle/**",
"src/db/schema.ts"]``. The command line is split like a POSIX shell would
(``shlex``) and run without a shell: write ``cmd:sh -c '...'`` for pipes,
``&&`` or redirections.

It runs in the project root with the variables ``dbenv run`` gives, every
exported database variable naming the database being built (``build_variables``:
``DATABASE_URL`` and the ``[export]`` names), in a process group of its own
(``children.run_group``): after ``schema_timeout`` seconds, on any exception, or
when dbenv dies, the command and everything it started are killed. Its output is
kept; on failure its last lines are shown, scrubbed of every password it was given.

Nothing in the command tells what it builds, so its fingerprint hashes the
command line and the inputs: the sorted relative paths and bytes of every file
the globs match (a glob naming a directory, or ending in ``**``, takes every file
under it; tool and cache directories such as ``node_modules`` and
``__pycache__`` are skipped unless the glob names them).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbenv.config.model import Environment
from dbenv.errors import ConfigError, OperationError

if TYPE_CHECKING:
    from dbenv.sources.schema import SchemaSource

TAIL_LINES = 20  # of the command's output, shown when it fails
LINE_WIDTH = 300  # a minified stack line is cut here
# directories a wildcard never descends into: tools' caches and installs, VCS data, and
# dbenv's own local stack (its data files change while the server runs)
SKIPPED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "node_modules",
        ".venv",
        ".dbenv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".next",
    }
)


def split_command(text: str) -> tuple[str, ...]:
    """The argv of a command line (POSIX shell quoting); ValueError when it does not parse."""
    return tuple(shlex.split(text))


_POSTGRES_URL = re.compile(r"^\s*postgres(?:ql)?(?:\+\w+)?://", re.IGNORECASE)


def check_url_variables(env: Environment, process_env: Mapping[str, str]) -> None:
    """Every PostgreSQL URL the command would get must be one dbenv points at the build.

    dbenv sets ``DATABASE_URL`` and each ``[export]`` name to the database being built;
    any other variable holding a PostgreSQL URL (``POSTGRES_URL`` in ``.env`` when the
    app reads that name and ``[export]`` does not list it) names a live database, and a
    tool reading it builds there: drizzle-kit pushed a new column into development
    that way (nextjs-saas-starter, docs/real-apps.md). dbenv's post-build check sees
    only that the template stayed empty, after the fact; so this is bad input (exit 2),
    said before anything changes. ``DBENV_*`` names are dbenv's own settings.
    """
    from dbenv.config.masking import mask_url

    given = {key: (value, "the process environment") for key, value in process_env.items()}
    for key, setting in env.variables.items():
        given[key] = (setting.display(), str(setting.origin))
    for key, (value, where) in sorted(given.items()):
        if key in env.export_forms or key.startswith("DBENV_") or not _POSTGRES_URL.match(value):
            continue
        raise ConfigError(
            f"the schema command of '{env.name}' would get {key} from {where}, a PostgreSQL "
            f"URL dbenv does not point at the database being built "
            f"({mask_url(value.strip())}): a tool reading {key} would build its schema there.",
            hint=f'Export it so it names the database being built ({key} = "url" under '
            f"[export] or [environments.{env.name}.export]), or remove it from {where}.",
        )


def check_inputs(env: Environment, source: SchemaSource) -> None:
    """A ``cmd:`` source needs database isolation and ``schema_inputs``; every glob
    must match a file. Each is bad input (exit 2), found before anything changes."""
    if source.kind == "cmd" and env.isolation != "database":
        raise ConfigError(
            f"schema_source of environment '{env.name}' is {source.spec!r}: cmd: sources work "
            "in database isolation only.",
            hint="A command builds a whole database: give the environment its own database.",
        )
    if source.kind == "cmd" and not env.schema_inputs:
        raise ConfigError(
            f"environment '{env.name}' has a cmd: schema_source but no schema_inputs, so dbenv "
            "cannot tell when its schema changes.",
            hint=f"List the files the command builds from under [environments.{env.name}]: "
            'schema_inputs = ["drizzle/**", "src/db/schema.ts"] (globs relative to the '
            "project root).",
        )
    input_files(env.root, env.schema_inputs, environment=env.name)


def input_files(root: Path, patterns: Iterable[str], *, environment: str) -> list[Path]:
    """Every file the globs match under ``root``, sorted; a glob matching none is bad input."""
    found: set[Path] = set()
    for pattern in patterns:
        if Path(pattern).is_absolute():
            raise ConfigError(
                f"schema_inputs of environment '{environment}' has {pattern!r}, an absolute path.",
                hint="Write it relative to the project root.",
            )
        named = set(Path(pattern).parts)
        matched = {f for f in _expand(root, pattern) if not (set(f.parts) & SKIPPED) - named}
        if not matched:
            raise ConfigError(
                f"schema_inputs of environment '{environment}' has {pattern!r}, which matches "
                f"no file under {root}.",
                hint="Fix the glob (relative to the project root) or remove it.",
            )
        found |= matched
    return sorted(found, key=lambda p: p.as_posix())


def _expand(root: Path, pattern: str) -> set[Path]:
    """Relative paths of the files ``pattern`` matches (a directory: the files under it)."""
    files: set[Path] = set()
    for match in root.glob(pattern):
        if match.is_file():
            files.add(Path(os.path.relpath(match, root)))
        elif match.is_dir():
            for dirpath, dirnames, filenames in os.walk(match):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED)
                for name in filenames:
                    files.add(Path(os.path.relpath(Path(dirpath) / name, root)))
    return files


def hash_inputs(digest: Any, root: Path, patterns: Iterable[str], *, environment: str) -> None:
    """Feed ``digest`` the matched files' relative paths and contents, in sorted order."""
    for path in input_files(root, patterns, environment=environment):
        content = (root / path).read_bytes()
        # lengths first: no two different sets of files feed the same bytes
        digest.update(f"{len(path.as_posix())}:{path.as_posix()}:{len(content)}:".encode())
        digest.update(content)


def run_command(source: SchemaSource, env: Environment, url: str, *, cwd: Path) -> None:
    """Run the source's command against ``url`` (the database being built), as above."""
    from dbenv.backends import children
    from dbenv.sources.migrations import build_variables

    given = build_variables(env, url)
    secrets = _secrets(env, url, given)
    shown = _scrub(shlex.join(source.argv), secrets)
    done = children.run_group(
        source.argv, cwd=cwd, env={**os.environ, **given}, timeout=env.schema_timeout
    )
    if done.timed_out:
        raise OperationError(
            f"the schema command `{shown}` for '{env.name}' did not finish in "
            f"{env.schema_timeout:g} s and was killed with every process it started.",
            hint=f"Nothing was kept. Run it by hand to see where it waits (dbenv run "
            f"{env.name} -- {shown}), or raise schema_timeout (seconds) in the project file. "
            f"Its last lines:\n{_tail(done.output, secrets)}",
        )
    if done.not_started is not None:
        raise ConfigError(
            f"the schema command `{shown}` for '{env.name}' could not be started: "
            f"{_scrub(done.not_started, secrets)}.",
            hint="Fix schema_source, or install the tool (the command runs without a shell, "
            "in the project root, with the PATH dbenv has).",
        )
    if done.returncode != 0:
        raise OperationError(
            f"the schema command `{shown}` for '{env.name}' exited with {done.returncode}.",
            hint=f"Nothing was kept. Its last lines:\n{_tail(done.output, secrets)}",
        )


def _secrets(env: Environment, url: str, given: dict[str, str]) -> list[str]:
    """Plain secrets the command was given: passwords in its URLs, secret variables."""
    from dbenv.config.masking import is_secret_key, password_forms

    found = password_forms(url)
    for key, value in given.items():
        found += password_forms(value)
        setting = env.variables.get(key)
        if is_secret_key(key) or (setting is not None and setting.secret):
            found.append(value)
    if env.database_url is not None:  # a tool reading .env itself may print the live one
        found += password_forms(env.database_url.reveal())
    return found


def _scrub(text: str, secrets: list[str]) -> str:
    from dbenv.config.masking import scrub

    return scrub(text, secrets)


def _tail(output: str, secrets: list[str]) -> str:
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    # scrubbed before cut: a cut through a password would leave half of it unmatched
    kept = [_scrub(line, secrets) for line in lines[-TAIL_LINES:]]
    if not kept:
        return "    (it printed nothing)"
    return "\n".join(
        "    " + (line if len(line) <= LINE_WIDTH else line[:LINE_WIDTH] + " ...") for line in kept
    )
