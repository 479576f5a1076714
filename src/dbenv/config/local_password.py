"""Passwords of the local stack's roles: the configured one, or one generated once.

An app logs in over TCP (asyncpg, settings classes that build ``host:port``),
where the local stack asks for a password (scram). A ``server = "local"``
environment without a ``password`` gets a generated one, kept in
``<data_dir>/passwords/<role>`` (0600, in a 0700 directory) so every later run,
``dbenv up`` and the pytest plugin agree on it. It is created when first needed,
atomically (``os.link`` of a finished file), so concurrent workers read one value.
This is the one file the configuration layer writes, and only in dbenv's own
data directory.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

from dbenv.config.model import Secret
from dbenv.errors import ConfigError

DIRECTORY = "passwords"
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def password_file(data_dir: Path, role: str) -> Path:
    """Where the generated password of ``role`` is kept."""
    name = role if _SAFE.match(role) and not role.startswith(".") else None
    name = name or "role-" + hashlib.sha256(role.encode()).hexdigest()[:16]
    return data_dir / DIRECTORY / name


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def ensure_password(data_dir: Path, role: str) -> str:
    """The generated password of ``role``, created (0600) if there is none yet."""
    path = password_file(data_dir, role)
    try:
        found = _read(path)
        if found is None:
            _create(path)
            found = _read(path)
    except OSError as exc:
        raise ConfigError(
            f"could not keep the local role password in {path.parent} "
            f"({exc.strerror or type(exc).__name__}).",
            hint="Check that dbenv may write its data directory ([local] data_dir).",
            path=path.parent,
        ) from None
    if found is None:
        raise ConfigError(
            f"the local role password file {path} is empty.",
            hint="Delete it; dbenv generates a new one (then run `dbenv up`).",
            path=path,
        )
    return found


def _create(path: Path) -> None:
    """Write a new password to ``path`` unless another process got there first."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(24) + "\n")
    try:
        os.link(draft, path)  # atomic; another process may have won the race
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def generated_password(data_dir: Path, role: str) -> Secret:
    """A ``Secret`` that reads (or first generates) ``role``'s password when revealed."""
    return Secret(lambda: ensure_password(data_dir, role))
