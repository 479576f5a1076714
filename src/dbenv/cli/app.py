"""The Typer application: global options, masked output, and errors turned into exit codes.

Every area's CLI module attaches its commands to ``app`` and decorates them with
``handle_errors`` (below ``@app.command``). Output goes through ``out``/``err``/
``print_json``, which scrub every secret revealed during this run and every URL
password, so a command cannot print a secret by accident.

Exit codes: 0 ok, 1 failed, 2 bad input or configuration, 3 refused by the guard.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TextIO, TypeVar

import typer
from rich.console import Console

from dbenv.config.masking import mask_passwords, password_forms, scrub
from dbenv.config.model import Secret, watch_reveals
from dbenv.errors import DbenvError, missing_dependency

if TYPE_CHECKING:
    from dbenv.config import Project

__all__ = [
    "CliState",
    "app",
    "err",
    "err_console",
    "get_project",
    "get_state",
    "handle_errors",
    "out",
    "out_console",
    "print_json",
    "remember_secret",
    "reveal",
]

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="dbenv",
    help="Keep an application's PostgreSQL and Redis databases apart across environments.",
    no_args_is_help=True,
    add_completion=False,
    # Rich's pretty tracebacks show local variables, which may hold secrets.
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Plain values of secrets revealed during this run (for `run`, `--reveal`, ...).
# Everything this process writes to stdout/stderr is scrubbed of them.
_REVEALED: set[str] = set()


def remember_secret(plain: str) -> None:
    """Add a plain secret value to the set every output is scrubbed of.

    A URL's or DSN's password is remembered on its own too (as written and
    percent-decoded): a driver's error may quote it without the rest of the URL.
    """
    if plain:
        _REVEALED.add(plain)
        _remember_passwords(plain)


def _remember_passwords(plain: str) -> None:
    # A password also shown in the masked URL (postgres:postgres) hides nothing, and
    # scrubbing it would garble every "postgres" printed.
    shown = mask_passwords(plain)
    _REVEALED.update(form for form in password_forms(plain) if form not in shown)


watch_reveals(_remember_passwords)


def reveal(secret: Secret | str) -> str:
    """Reveal a secret and remember its plain value so no output can show it."""
    plain = secret.reveal() if isinstance(secret, Secret) else secret
    remember_secret(plain)
    return plain


def masked(text: str) -> str:
    """``text`` with every remembered secret and every URL password masked."""
    return scrub(text, _REVEALED)


class _ScrubbedStream:
    """A text stream that scrubs secrets before writing to the current stdout/stderr.

    It looks the real stream up on every write, so it follows the redirections
    done by test runners.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def _target(self) -> TextIO:
        stream: TextIO = getattr(sys, self._name)
        return stream

    def write(self, text: str) -> int:
        self._target.write(masked(text))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._target, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._target, "encoding", None) or "utf-8"


def _console(name: str) -> Console:
    stream = _ScrubbedStream(name)
    # Piped output is read by people in logs and by grep: do not fold it at 80 columns
    # (a wider COLUMNS widens it, e.g. for tests comparing whole table rows).
    columns = os.environ.get("COLUMNS", "")
    width = None if stream.isatty() else max(160, int(columns) if columns.isdigit() else 0)
    return Console(file=stream, highlight=False, width=width)  # type: ignore[arg-type]


def out_console() -> Console:
    """A Rich console on (scrubbed) stdout."""
    return _console("stdout")


def err_console() -> Console:
    """A Rich console on (scrubbed) stderr."""
    return _console("stderr")


def out(text: str = "") -> None:
    """Write one line to stdout, masked, without Rich markup."""
    _ScrubbedStream("stdout").write(text + "\n")


def err(text: str) -> None:
    """Write one line to stderr, masked, without Rich markup."""
    _ScrubbedStream("stderr").write(text + "\n")


def print_json(data: Any) -> None:
    """Machine-readable output for ``--json``: masked like everything else."""
    out(json.dumps(data, indent=2, default=str, sort_keys=False))


@dataclass
class CliState:
    """What the global options set, shared by every command of one invocation."""

    project_path: Path | None = None
    debug: bool = False
    overrides: dict[str, str] = field(default_factory=dict)  # --set NAME=VALUE
    _project: Project | None = field(default=None, repr=False)


# The state of the invocation in progress (one per process; tests invoke one at a time).
_CURRENT = CliState()


def get_state(ctx: typer.Context | None = None) -> CliState:
    """The invocation's ``CliState``: from ``ctx`` when given, else the current run's."""
    if ctx is not None:
        root = ctx.find_root()
        if not isinstance(root.obj, CliState):
            root.obj = _CURRENT
        return root.obj
    return _CURRENT


def get_project(ctx: typer.Context | None = None) -> Project:
    """The project named by ``--project`` (or found from the working directory), loaded once."""
    from dbenv.config import load_project

    state = get_state(ctx)
    if state._project is None:
        state._project = load_project(project=state.project_path, overrides=state.overrides)
    return state._project


def _report(error: BaseException, *, debug: bool) -> None:
    if debug:
        err("".join(traceback.format_exception(error)).rstrip())
    if isinstance(error, DbenvError):
        err(f"dbenv: {error}")
    else:
        name = type(error).__name__
        tail = "" if debug else " (run with --debug for the traceback)"
        err(f"dbenv: internal error: {name}: {error}{tail}.")


def _usage_error_type() -> type[Exception]:
    """Typer's usage errors: ``typer.TyperException`` in Typer releases that vendor Click,
    Click's ``ClickException`` before; ``typer.BadParameter`` derives from either."""
    found: type[Exception] | None = getattr(typer, "TyperException", None)
    if found is None:
        found = next(k for k in typer.BadParameter.__mro__ if k.__name__ == "ClickException")
    return found


# Typer's own exits and usage errors (exit 2), which keep their meaning
TYPER_EXITS: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort, _usage_error_type())


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn ``DbenvError`` into one masked sentence and its exit code; others into exit 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except TYPER_EXITS:
            raise
        except KeyboardInterrupt:
            err("dbenv: interrupted.")
            raise typer.Exit(130) from None
        except DbenvError as error:
            _report(error, debug=get_state().debug)
            raise typer.Exit(error.exit_code) from None
        except ModuleNotFoundError as error:
            # an optional dependency (SQLAlchemy, Alembic, ...) imported outside the
            # library's own checks: still one sentence naming the extra
            missing = missing_dependency(error)
            _report(missing or error, debug=get_state().debug)
            raise typer.Exit(missing.exit_code if missing else 1) from None
        except Exception as error:
            _report(error, debug=get_state().debug)
            raise typer.Exit(1) from None

    return wrapper


def _parse_sets(assignments: list[str] | None) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in assignments or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or any(c.isspace() for c in name):
            shown = name.strip() or item
            err(
                f"dbenv: --set takes NAME=VALUE, got '{shown}'. "
                "Write it as --set LOG_LEVEL=debug (no spaces around =)."
            )
            raise typer.Exit(2)
        overrides[name] = value
    return overrides


@app.callback()
def main_callback(
    ctx: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            "-p",
            help="The project file or directory (default: found from the working directory).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")] = False,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="NAME=VALUE",
            help="Set a variable above every other layer (repeatable); "
            "DBENV_<ENV>_<KEY> names set a setting, e.g. DBENV_TEST_PORT=6543.",
        ),
    ] = None,
) -> None:
    """dbenv: one application's databases, kept apart across its environments."""
    global _CURRENT
    _REVEALED.clear()  # one invocation, one set of revealed secrets
    _CURRENT = CliState(project_path=project, debug=debug, overrides=_parse_sets(assignments))
    ctx.obj = _CURRENT
