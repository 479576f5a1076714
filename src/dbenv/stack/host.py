"""What the machine offers the local stack: PostgreSQL binaries, a user, ports, processes.

Binary discovery lists every place it looked when it finds nothing. When dbenv
runs as root, the server runs as an unprivileged user (PostgreSQL refuses root);
the permissions of directories dbenv does not own are checked, never loosened.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dbenv.errors import BinariesNotFound, ServerStartError

__all__ = [
    "CHILDREN",
    "PgBinaries",
    "RunAs",
    "check_reachable",
    "find_pg_binaries",
    "free_port",
    "is_reachable",
    "log_tail",
    "pid_alive",
    "port_free",
    "resolve_run_as",
    "stop_all",
    "wait_exit",
    "wait_gone",
]

Progress = Callable[[str], None]

INSTALL_HINT = (
    "Install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; macOS: brew install "
    "postgresql; or pip install 'dbenv[embedded]' for binaries in a Python package), or "
    "point DBENV_PG_BINDIR / [local] pg_bindir at the directory holding initdb."
)
DEBIAN_ROOT = Path("/usr/lib/postgresql")  # Debian/Ubuntu: one bin directory per major
SOURCE_BINDIR = Path("/usr/local/pgsql/bin")  # PostgreSQL's own `make install` default
POLL = 0.01  # seconds between readiness checks: pg_ctl -w waits 100 ms, far too slow


@dataclass(frozen=True)
class PgBinaries:
    """A PostgreSQL installation: its bin directory and major/full version."""

    bindir: Path
    version: str  # "15.20"
    major: int

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


@dataclass(frozen=True)
class RunAs:
    """The unprivileged user the server runs as when dbenv runs as root."""

    name: str
    uid: int
    gid: int
    created: bool = False


def _version_of(bindir: Path) -> PgBinaries | None:
    postgres = bindir / "postgres"
    if not (os.access(bindir / "initdb", os.X_OK) and os.access(postgres, os.X_OK)):
        return None
    try:
        text = subprocess.run(
            [str(postgres), "-V"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return None
    match = re.search(r"(\d+)(?:\.(\d+))?", text)
    if match is None:
        return None
    return PgBinaries(bindir, match.group(0), int(match.group(1)))


def _candidates(*, search_path: str | None) -> Iterator[tuple[str, Path]]:
    """Every place binaries may live, in order, each with how it was found.

    Lazy: ``pg_config`` (a Perl script on Debian) runs only when PATH gave nothing.
    """
    found = shutil.which("initdb", path=search_path)
    yield ("PATH", Path(found).resolve().parent if found else Path("(initdb not on PATH)"))
    pg_config = shutil.which("pg_config", path=search_path)
    if pg_config:
        out = ""
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        yield ("pg_config --bindir", Path(out) if out else Path("(pg_config gave nothing)"))
    else:
        yield ("pg_config", Path("(pg_config not on PATH)"))
    debian = sorted(
        DEBIAN_ROOT.glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    yield from ((f"{DEBIAN_ROOT}/*/bin", p) for p in debian)
    if not debian:
        yield ("Debian packages", DEBIAN_ROOT / "*" / "bin")
    yield ("source install", SOURCE_BINDIR)
    yield ("the pgserver package, dbenv[embedded]", _pgserver_bindir())


def _pgserver_bindir() -> Path:
    """Where the optional ``pgserver`` package keeps its PostgreSQL binaries.

    Only its files are used, never its code: run as root, pgserver would create a
    user and loosen directory permissions itself; dbenv runs the server as usual.
    """
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return Path("(pgserver not installed)")
    return Path(spec.origin).parent / "pginstall" / "bin"


def reachable_binaries(found: PgBinaries, user: RunAs | None, cache: Path) -> PgBinaries:
    """``found``, or — for the pgserver package's binaries — a copy under ``cache``
    that ``user`` can run.

    As root the server runs as ``user``; a virtualenv under /root is out of its
    reach. The package's files (``pgserver/pginstall`` and the ``pgserver.libs`` its
    binaries' RPATH names) are copied once into a root-owned, world-readable
    directory rather than opening up the private one. Other installations must be
    reachable where they are.
    """
    if user is None or all(_traversable(p, user) for p in reversed(found.bindir.parents)):
        return found
    install = found.bindir.parent
    if (install.name, install.parent.name) != ("pginstall", "pgserver"):
        check_reachable(found.bindir / "postgres", user)  # says what to open up
        return found
    site = install.parent.parent
    copy = cache / f"pg{found.version}-{_digest(str(site.resolve()))}"
    if not (copy / "pgserver" / "pginstall" / "bin" / "postgres").is_file():
        _copy_tree({"pgserver/pginstall": install, "pgserver.libs": site / "pgserver.libs"}, copy)
    st = copy.stat()
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise ServerStartError(
            f"{copy} holds PostgreSQL binaries that are not dbenv's own (owner or mode).",
            path=copy,
            hint="Remove it; dbenv copies the binaries there again.",
        )
    check_reachable(copy / "pgserver", user)
    return PgBinaries(copy / "pgserver" / "pginstall" / "bin", found.version, found.major)


def _copy_tree(parts: dict[str, Path], target: Path) -> None:
    """Copy ``parts`` (relative path -> source) into ``target``, all at once or not at all."""
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    for relative, source in parts.items():
        if source.exists():
            shutil.copytree(source, partial / relative, symlinks=True)
    for path in (partial, *partial.rglob("*")):
        if path.is_dir():
            path.chmod(0o755)
    partial.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        partial.rename(target)  # a concurrent copier may have won: theirs serves
    shutil.rmtree(partial, ignore_errors=True)


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()[:12]


def find_pg_binaries(
    *,
    bindir: Path | None = None,
    search_path: str | None = None,
    want_major: int | None = None,
) -> PgBinaries:
    """The PostgreSQL binaries to use; ``BinariesNotFound`` lists every place looked.

    An explicit ``bindir`` (DBENV_PG_BINDIR or ``[local] pg_bindir``) is the only
    place looked when given. Otherwise PATH (``search_path``, default the
    process's), ``pg_config --bindir``, ``/usr/lib/postgresql/*/bin`` newest first,
    stopping at the first installation found; with ``want_major`` (an existing data
    directory's version) the first of that major version is preferred.
    """
    if bindir is not None:
        found = _version_of(bindir)
        if found is None:
            raise BinariesNotFound(
                f"no PostgreSQL binaries (initdb, postgres) in the configured bindir {bindir}.",
                hint="Fix DBENV_PG_BINDIR / [local] pg_bindir, or unset it to search PATH. "
                + INSTALL_HINT,
            )
        return found
    looked: list[str] = []
    usable: list[PgBinaries] = []
    seen: set[Path] = set()
    for how, place in _candidates(search_path=search_path):
        looked.append(f"{place} ({how})" if place.is_absolute() else str(place))
        if not place.is_absolute() or place.resolve() in seen:
            continue
        seen.add(place.resolve())
        found = _version_of(place)
        if found is not None and (want_major is None or found.major == want_major):
            return found
        if found is not None:
            usable.append(found)
    if usable:
        return usable[0]
    raise BinariesNotFound(
        "no PostgreSQL binaries found; looked in DBENV_PG_BINDIR (unset), "
        + ", ".join(looked)
        + ".",
        hint=INSTALL_HINT,
    )


def free_port(preferred: int = 0) -> int:
    """``preferred`` when it is free on 127.0.0.1, else a port the kernel picks."""
    if preferred and port_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port``.

    SO_REUSEADDR as the servers themselves bind (PostgreSQL, Redis, PgBouncer): a
    port whose last connections linger in TIME_WAIT is free to them, and so to us.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# Servers this process started, so that their exit is reaped and never left a zombie.
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie child is reaped and counts as gone)."""
    proc = CHILDREN.get(pid)
    if proc is not None:
        return proc.poll() is None
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = Path(f"/proc/{pid}/status")
    with contextlib.suppress(OSError):
        if "\nState:\tZ" in status.read_text():
            return False
    return True


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


def wait_exit(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited (reaping it when it is our child)."""
    proc = CHILDREN.get(pid)
    if proc is None:
        return wait_gone(pid, timeout)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return False
    CHILDREN.pop(pid, None)
    return True


StopTarget = tuple[int, signal.Signals, signal.Signals]  # pid, polite signal, last resort


def stop_all(targets: list[StopTarget], *, timeout: float = 30) -> None:
    """Signal every process at once, then wait for all; escalate the stragglers."""
    for pid, polite, _ in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, polite)
    deadline = time.monotonic() + timeout
    for pid, _, last_resort in targets:
        if not wait_exit(pid, max(0.0, deadline - time.monotonic())):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, last_resort)
            wait_exit(pid, 10)


def log_tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(log is empty)"


def resolve_run_as(*, progress: Progress | None = None) -> RunAs | None:
    """``None`` when not root; else ``postgres`` or ``dbenv``, creating ``dbenv`` if neither."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "dbenv"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return RunAs(name, entry.pw_uid, entry.pw_gid)
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "dbenv"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ServerStartError(
            "dbenv runs as root, PostgreSQL refuses to, and creating the system user "
            f"'dbenv' failed: {result.stderr.strip() or result.returncode}.",
            hint="Create an unprivileged user (useradd --system dbenv) or run dbenv as one.",
        )
    entry = pwd.getpwnam("dbenv")
    if progress:
        progress("created system user 'dbenv' to run PostgreSQL (it refuses to run as root)")
    return RunAs("dbenv", entry.pw_uid, entry.pw_gid, created=True)


def _traversable(path: Path, user: RunAs) -> bool:
    st = path.stat()
    if st.st_uid == user.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    groups = {user.gid, *os.getgrouplist(user.name, user.gid)}
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def is_reachable(target: Path, user: RunAs | None) -> bool:
    """Whether every existing ancestor of ``target`` is searchable by the server's user."""
    return user is None or all(
        _traversable(parent, user) for parent in target.parents if parent.exists()
    )


def check_reachable(target: Path, user: RunAs | None) -> None:
    """Every existing ancestor of ``target`` must be searchable by the server's user."""
    if user is None:
        return
    for parent in reversed(target.parents):
        if parent.exists() and not _traversable(parent, user):
            elsewhere = "" if target.is_relative_to("/tmp") else ", such as one under /tmp"
            raise ServerStartError(
                f"PostgreSQL runs as user '{user.name}' (dbenv runs as root), which cannot "
                f"reach {target}: {parent} is not searchable by it.",
                path=parent,
                hint=f"Allow it (chmod o+x {parent}) or set [local] data_dir to a directory "
                f"'{user.name}' can reach{elsewhere}.",
            )


def make_data_dir(data_dir: Path) -> bool:
    """Create the stack's data directory; True when dbenv created it (or found it empty)."""
    existed = data_dir.exists()
    if existed and not data_dir.is_dir():
        raise ServerStartError(
            f"{data_dir} exists and is not a directory.",
            path=data_dir,
            hint="Remove it or set [local] data_dir to another path.",
        )
    try:
        fresh = not existed or not any(data_dir.iterdir())
        data_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        probe = data_dir / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except PermissionError as exc:
        where = Path(exc.filename) if exc.filename else data_dir
        raise ServerStartError(
            f"dbenv may not write {where} (permission denied); nothing was started.",
            path=where,
            hint="Give your user write access there, or set [local] data_dir in dbenv.toml "
            "to a directory you own.",
        ) from None
    return fresh


# as root, clusters whose data directory the server's user cannot reach live here
RELOCATED = Path("/var/lib/dbenv")


def relocated_home(data_dir: Path) -> Path:
    """Where a cluster out of its user's reach lives instead: one directory per data dir."""
    import hashlib

    return RELOCATED / hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]


def make_root_home(home: Path) -> None:
    """Create ``home`` (and ``RELOCATED``) root-owned, 0755: the server's user reads, only
    root writes."""
    for path in (home.parent, home):
        path.mkdir(mode=0o755, exist_ok=True)
        os.chown(path, 0, 0)
        path.chmod(0o755)
