"""Secret references: ``env:NAME``, ``file:PATH`` and ``cmd:COMMAND``.

A reference becomes a ``Secret`` that resolves only when ``reveal()`` is called;
nothing is read or run before that, and the plain value is never stored beyond
the Secret's own cache. Failures name the reference kind and where it was
defined, never the secret (nor the command, which may carry one).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from dbenv.config.model import MASK, Origin, Secret
from dbenv.errors import SecretReferenceError

REFERENCE = re.compile(r"^(?P<kind>env|file|cmd):(?P<body>.+)$", re.S)
DEFAULT_TIMEOUT = 10.0


def reference_kind(text: str) -> str | None:
    """``"env"``, ``"file"`` or ``"cmd"`` when ``text`` is a secret reference."""
    match = REFERENCE.match(text)
    return match.group("kind") if match else None


def env_target(text: str) -> str | None:
    """The variable an ``env:NAME`` reference reads, or None when ``text`` is not one.

    That variable holds a secret whatever its name, so it is masked like one.
    """
    match = REFERENCE.match(text)
    if match is None or match.group("kind") != "env":
        return None
    return match.group("body").strip() or None


def _where(origin: Origin) -> str:
    if origin.kind == "process":
        return f"process variable ${origin.source}"
    return f"{origin.source}:{origin.line}" if origin.line else origin.source or "an argument"


def _error(kind: str, origin: Origin, problem: str, hint: str) -> SecretReferenceError:
    path = origin.source if origin.kind in ("project", "dotenv") else None
    return SecretReferenceError(
        f"the {kind}: reference defined at {_where(origin)} {problem}.",
        hint=hint,
        path=path,
        line=origin.line if path else None,
    )


def _from_env(name: str, origin: Origin, lookup: Callable[[str], str | None]) -> str:
    value = lookup(name.strip())
    if not value:
        raise _error(
            "env",
            origin,
            f"names variable {name.strip()}, which is not set",
            f"Set {name.strip()} in the environment or an env file.",
        )
    return value


def _from_file(body: str, origin: Origin, root: Path) -> str:
    path = Path(body.strip()).expanduser()
    path = path if path.is_absolute() else root / path
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(
            "file",
            origin,
            f"cannot read {path} ({exc.__class__.__name__})",
            "Check the secret file exists and is readable.",
        ) from None
    if not value:
        raise _error("file", origin, f"points at {path}, which is empty", "Fill the secret file.")
    return value


def _from_command(command: str, origin: Origin, root: Path, timeout: float) -> str:
    import signal
    import subprocess  # only when a cmd: reference is revealed

    process = subprocess.Popen(
        command,
        shell=True,
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # so a timeout can stop the whole process group
    )
    try:
        stdout, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise _error(
            "cmd",
            origin,
            f"did not finish within {timeout:g} s",
            "Check the secret tool is logged in and reachable, or raise project.secret_timeout.",
        ) from None
    if process.returncode != 0:
        raise _error(
            "cmd",
            origin,
            f"exited with status {process.returncode}",
            "Run the command by hand to see why (is the secret tool logged in?).",
        )
    value = stdout.strip()
    if not value:
        raise _error("cmd", origin, "printed nothing", "Check the command prints the secret.")
    return value


def reference_secret(
    text: str,
    *,
    origin: Origin,
    root: Path,
    timeout: float = DEFAULT_TIMEOUT,
    lookup: Callable[[str], str | None],
) -> Secret | None:
    """A lazy ``Secret`` for a reference, or None when ``text`` is not one.

    ``lookup`` gives ``env:`` references the (layered) value of a variable.
    """
    match = REFERENCE.match(text)
    if match is None:
        return None
    kind, body = match.group("kind"), match.group("body")
    busy: list[bool] = []

    def resolve() -> str:
        if busy:  # env:A whose variable leads back to this same reference
            raise _error(kind, origin, "refers back to itself", "Point it at another variable.")
        busy.append(True)
        try:
            if kind == "env":
                return _from_env(body, origin, lookup)
            if kind == "file":
                return _from_file(body, origin, root)
            return _from_command(body, origin, root, timeout)
        finally:
            busy.clear()

    return Secret(resolve, masked=MASK)
