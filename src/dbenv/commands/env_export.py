"""The ``env`` verb: what ``dbenv run`` gives a child, as an env file, masked unless revealed.

The variables come from ``dbenv.config.exports`` (``exported`` when revealed,
``masked_exported`` otherwise): the environment's layered variables, its selector
variables and its exported target variables, never the rest of the process
environment. Secrets leave the process in plain text only where the caller said
so twice: ``--reveal`` and a terminal, ``--yes`` or ``--output FILE``. A file is
created mode 0600 (never widened afterwards) and replaced atomically; it is never
written into the project's own env files nor where git would pick it up.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dbenv.commands.env_formats import FORMATS, encode
from dbenv.config.model import Secret
from dbenv.errors import UsageError

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Environment

__all__ = ["EnvExport", "env_export"]

Revealer = Callable[[Secret], str]


def _reveal(secret: Secret) -> str:
    return secret.reveal()


@dataclass(frozen=True)
class EnvExport:
    """One environment's export: the text (plain only when ``revealed``), where it went."""

    environment: str
    format: str
    text: str
    names: tuple[str, ...]
    revealed: bool
    output: Path | None = None  # the file written, or None for stdout
    node_differs: tuple[str, ...] = ()  # names Node's dotenv reads otherwise (env_formats)


def _check_flags(
    fmt: str, *, reveal: bool, confirmed: bool, to_terminal: bool, output: Path | None
) -> None:
    if fmt not in FORMATS:
        raise UsageError(
            f"unknown format '{fmt}'.", hint="Choose one of: " + ", ".join(FORMATS) + "."
        )
    if confirmed and not reveal:
        raise UsageError(
            "--yes confirms --reveal, which was not given.", hint="Drop --yes, or add --reveal."
        )
    if reveal and output is None and not to_terminal and not confirmed:
        raise UsageError(
            "--reveal prints secrets in plain text only to a terminal, and stdout is not one.",
            hint="Add --yes to send them down this pipe, or write them with --output FILE "
            "(created 0600).",
        )


def _git_refusal(target: Path) -> str | None:
    """Why git could pick ``target`` up (tracked, or not ignored), or None."""
    from dbenv.doctor.scan import git, git_root

    top = git_root(target.parent)
    if top is None:
        return None
    listed = git(top, "ls-files", "-z", "--cached", "--", str(target))
    if listed is not None and listed.returncode == 0 and listed.stdout.strip(b"\0"):
        return "is tracked by git"
    ignored = git(top, "check-ignore", "-q", "--", str(target))
    if ignored is not None and ignored.returncode == 1:
        return "is in a git work tree and not ignored, so one `git add .` would commit it"
    return None


def _check_output(output: Path, env: Environment) -> Path:
    """The absolute path to write, after refusing every place it must not go."""
    target = Path(os.path.abspath(output.expanduser()))
    if not target.parent.is_dir():
        raise UsageError(
            f"--output {output}: the directory {target.parent} does not exist.",
            hint="Create it first, or write elsewhere.",
        )
    if target.is_dir():
        raise UsageError(f"--output {output} is a directory.", hint="Name a file.")
    inputs = {p.resolve() for p in (*env.env_files, *env.files_read)}
    if target.resolve() in inputs:
        raise UsageError(
            f"--output {output} is an env file dbenv reads for '{env.name}'; "
            "writing the export into it would feed the export back in.",
            hint="Write it elsewhere, e.g. .env.export (and ignore it in git).",
        )
    why = _git_refusal(target)
    if why is not None:
        raise UsageError(
            f"--output {output} {why}; an env file holds credentials and must stay out of git.",
            hint=f"Add '{target.name}' to .gitignore, or write it outside the work tree.",
        )
    return target


def _write_private(target: Path, text: str) -> None:
    """Create the file 0600 from the start (mkstemp), then move it into place atomically."""
    try:
        _replace_privately(target, text)
    except OSError as error:
        raise UsageError(
            f"--output {target} could not be written ({error.strerror or error}).",
            hint="Check the directory's permissions and free space, or write elsewhere.",
        ) from None


def _replace_privately(target: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def env_export(
    project: Project,
    name: str | None = None,
    *,
    fmt: str = "dotenv",
    reveal: bool = False,
    confirmed: bool = False,
    to_terminal: bool = False,
    output: Path | None = None,
    revealer: Revealer = _reveal,
) -> EnvExport:
    """What ``dbenv run NAME`` gives the child, in format ``fmt``; written to ``output``.

    ``reveal`` shows secrets in plain text; without ``output`` that needs
    ``to_terminal`` (stdout is a terminal) or ``confirmed`` (``--yes``). Every
    check runs before anything is revealed or written.
    """
    from dbenv.config.exports import exported, masked_exported
    from dbenv.doctor.check import missing_variables

    _check_flags(fmt, reveal=reveal, confirmed=confirmed, to_terminal=to_terminal, output=output)
    env = project.environment(name)
    target = None if output is None else _check_output(output, env)
    missing = missing_variables(env)
    if missing:  # what `dbenv run` refuses to start, this refuses to write
        from dbenv.errors import MissingVariables

        raise MissingVariables(env.name, list(missing))
    values = exported(env, revealer) if reveal else masked_exported(env)
    encoded = encode(values, fmt)
    if target is not None:
        _write_private(target, encoded.text)
    return EnvExport(
        env.name, fmt, encoded.text, tuple(values), reveal, target, encoded.node_differs
    )
