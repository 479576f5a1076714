"""The embedded PostgreSQL cluster: initdb, start, wait until ready, stop.

One ``PgCluster`` is one data directory. It runs the server from the machine's own
binaries, as an unprivileged user when dbenv runs as root, listening on 127.0.0.1
and on a unix socket next to its data. It waits by reading ``postmaster.pid``
every 10 ms (``pg_ctl -w`` polls every 100 ms).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from dbenv.errors import ServerStartError
from dbenv.stack.host import (
    CHILDREN,
    POLL,
    PgBinaries,
    RunAs,
    StopTarget,
    check_reachable,
    log_tail,
    pid_alive,
    stop_all,
)

__all__ = [
    "SOCKET_PATH_MAX",
    "PgCluster",
    "PortTaken",
    "check_socket_dir",
    "on_free_port",
    "socket_dir_for",
]

SOCKET_PATH_MAX = 100  # sun_path holds 107 bytes; keep a margin for ".s.PGSQL.NNNNN"


def socket_dir_for(data_dir: Path) -> Path:
    """``<data_dir>/run``, or a short directory under /tmp when that path is too long."""
    inside = data_dir / "run"
    if len(str(inside / ".s.PGSQL.65535")) <= SOCKET_PATH_MAX:
        return inside
    import hashlib

    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:12]
    return Path("/tmp") / f"dbenv-{digest}"


def check_socket_dir(socket_dir: Path, run_as: RunAs | None, *, inside: Path) -> None:
    """A socket directory outside the data directory (the short one under /tmp) must be
    ours or the server user's: never put the socket where someone else could."""
    if socket_dir.is_relative_to(inside) or not socket_dir.exists():
        return
    owner = socket_dir.stat().st_uid
    if owner not in {os.geteuid(), run_as.uid if run_as else os.geteuid()}:
        raise ServerStartError(
            f"the socket directory {socket_dir} (used because the data directory's path is "
            "too long for a unix socket) belongs to another user.",
            path=socket_dir,
            hint=f"Remove {socket_dir}, or use a shorter [local] data_dir path.",
        )


class PortTaken(Exception):
    """The chosen port was taken between choosing and binding it (retry another)."""


def log_since(log: Path, offset: int) -> str:
    """What a server wrote to ``log`` after byte ``offset`` (its start-up, not older runs)."""
    try:
        with log.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def wait_started(
    proc: subprocess.Popen[bytes],
    *,
    ready: Callable[[], bool],
    what: str,
    log: Path,
    offset: int,
    timeout: float,
    hint: str,
) -> None:
    """Poll ``ready()`` until it holds; ``PortTaken`` when ``proc`` lost its port to
    another process, one sentence with the log's new lines when it died or timed out."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            if ready():
                return
        if proc.poll() is not None:
            new_log = log_since(log, offset)
            if "Address already in use" in new_log:
                raise PortTaken(new_log)
            tail = "\n".join(new_log.strip().splitlines()[-12:]) or log_tail(log)
            raise ServerStartError(
                f"{what} exited with code {proc.returncode}; the last lines of {log}:\n{tail}",
                path=log,
                hint=f"Fix the cause shown in the log, or {hint}.",
            )
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"{what} was not ready after {timeout:.0f} s; see {log}.",
                path=log,
                hint=f"Check the log, or {hint}.",
            )
        time.sleep(POLL)


def on_free_port(
    start: Callable[[int], int], *, wanted: int, pick_port: Callable[[int], int], what: str
) -> tuple[int, int]:
    """``start(port)`` on a free port, ``wanted`` first: (pid, port). Another process may
    take a port between picking and binding it: up to three tries, then one sentence."""
    for _attempt in range(3):
        port = pick_port(wanted)
        try:
            return start(port), port
        except PortTaken:
            wanted = 0
    raise ServerStartError(
        f"{what} could not bind a free port on 127.0.0.1 after 3 attempts.",
        hint="Check what is taking ports, then run dbenv up again.",
    )


class PgCluster:
    """One data directory, ``<data_dir>/postgres``, and the server running on it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        binaries: PgBinaries | None = None,
        run_as: RunAs | None = None,
        superuser: str = "postgres",
        host_auth: str = "scram-sha-256",
    ) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "postgres"
        self.log = data_dir / "postgres.log"
        self.socket_dir = socket_dir_for(data_dir)
        self.binaries = binaries
        self.run_as = run_as
        self.superuser = superuser
        self.host_auth = host_auth

    # -- data directory -------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    def data_major(self) -> int | None:
        try:
            text = (self.pgdata / "PG_VERSION").read_text().strip()
        except OSError:
            return None
        return int(text.split(".")[0]) if text.split(".")[0].isdigit() else None

    def check_version(self) -> None:
        """A data directory of another major version: a clear error, nothing touched.

        (Also: one we may not read, e.g. made by dbenv run as root.)
        """
        if os.path.lexists(self.pgdata) and not os.access(self.pgdata, os.R_OK | os.X_OK):
            owner = self.pgdata.lstat().st_uid
            raise ServerStartError(
                f"the data directory {self.pgdata} belongs to another user (uid {owner}) and "
                "this user may not read it; nothing was changed.",
                path=self.pgdata,
                hint="Run dbenv as the user that created it (or root), or set [local] data_dir "
                "to a directory of your own.",
            )
        major = self.data_major()
        if major is not None and major != self.bin.major:
            raise ServerStartError(
                f"the data directory {self.pgdata} was created by PostgreSQL {major}, but the "
                f"binaries found are PostgreSQL {self.bin.major} ({self.bin.bindir}); "
                "nothing was changed.",
                path=self.pgdata,
                hint=f"Point DBENV_PG_BINDIR / [local] pg_bindir at PostgreSQL {major}'s bin "
                "directory, upgrade the cluster with pg_upgrade, or, if its data is disposable, "
                "remove it (dbenv down --purge).",
            )

    @property
    def bin(self) -> PgBinaries:
        if self.binaries is None:
            raise RuntimeError("PgCluster needs binaries to initdb or start")
        return self.binaries

    def _own(self, path: Path, mode: int) -> None:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
        path.chmod(mode)
        if self.run_as is not None:
            os.chown(path, self.run_as.uid, self.run_as.gid)

    def _ids(self) -> tuple[int | None, int | None, list[int] | None]:
        """``user``, ``group``, ``extra_groups`` for subprocess: drop root when needed."""
        if self.run_as is None:
            return None, None, None
        return self.run_as.uid, self.run_as.gid, []

    def initdb(self, *, no_sync: bool, cache: Path | None = None) -> bool:
        """Create the cluster: UTF8, trust on the unix socket, passwords on TCP.

        With ``cache``, a pristine cluster made by an earlier initdb of the same
        binaries and options is copied instead (initdb is most of a cold start);
        a fresh initdb fills the cache. True when the copy served.
        """
        check_reachable(self.pgdata, self.run_as)
        self._own(self.pgdata, 0o700)
        template = cache / self._template_key() if cache is not None else None
        if template is not None and self._copy_template(template):
            return True
        self._run_initdb(no_sync=no_sync)
        if template is not None:
            with contextlib.suppress(OSError):
                self._save_template(template)
        return False

    def _template_key(self) -> str:
        import hashlib

        options = f"{self.bin.bindir}|{self.bin.version}|{self.superuser}|{self.host_auth}|C|UTF8"
        return f"pg{self.bin.version}-" + hashlib.sha1(options.encode()).hexdigest()[:12]

    def _copy_template(self, template: Path) -> bool:
        if not (template / "PG_VERSION").is_file():
            return False
        st = template.stat()
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return False  # not ours alone: never start a cluster someone else could plant
        shutil.copytree(template, self.pgdata, symlinks=True, dirs_exist_ok=True)
        if self.run_as is not None:
            for path in (self.pgdata, *self.pgdata.rglob("*")):
                os.lchown(path, self.run_as.uid, self.run_as.gid)
        return True

    def _save_template(self, template: Path) -> None:
        template.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = template.with_name(f"{template.name}.{os.getpid()}.partial")
        shutil.copytree(self.pgdata, partial, symlinks=True)
        partial.chmod(0o700)
        try:
            partial.rename(template)  # atomic: a concurrent filler loses harmlessly
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)

    def _run_initdb(self, *, no_sync: bool) -> None:
        cmd = [
            self.bin.tool("initdb"),
            "-D", str(self.pgdata),
            "-E", "UTF8",
            "--locale=C",
            "-U", self.superuser,
            "--auth-local=trust",
            f"--auth-host={self.host_auth}",
        ]  # fmt: skip
        if no_sync:
            cmd.append("--no-sync")
        uid, gid, groups = self._ids()
        result = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            cwd=self.pgdata,
            check=False,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip().splitlines()[-8:]
            raise ServerStartError(
                f"initdb failed for {self.pgdata} (exit {result.returncode}):\n"
                + "\n".join(output),
                path=self.pgdata,
                hint="Fix the cause above; the partial data directory was removed.",
            )

    # -- the running server ---------------------------------------------------------
    def _pid_file(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def _is_ours(self, pid: int) -> bool:
        """Whether ``pid`` is alive and a postgres running on this data directory."""
        if pid <= 0:
            return False
        if pid in CHILDREN:
            return pid_alive(pid)
        if not pid_alive(pid):
            return False
        try:
            return Path(os.readlink(f"/proc/{pid}/cwd")) == self.pgdata.resolve()
        except FileNotFoundError:
            return not Path("/proc/self").exists()  # no /proc (macOS): trust kill(pid, 0)
        except PermissionError:
            return True  # alive and not ours to inspect: never treat it as stale
        except OSError:
            return False

    def running_pid(self) -> int | None:
        lines = self._pid_file()
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else 0
        return pid if self._is_ours(pid) else None

    def running_port(self) -> int | None:
        lines = self._pid_file()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def clear_stale(self) -> bool:
        """After a crash or reboot: remove a postmaster.pid whose server is gone.

        Backends orphaned by a ``kill -9`` of the postmaster still hold its shared
        memory for a moment; wait for them (then stop them) so the start succeeds.
        """
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists() or self.running_pid() is not None:
            return False
        orphans = self._orphans()
        deadline = time.monotonic() + 3
        while orphans and time.monotonic() < deadline:
            time.sleep(POLL)
            orphans = [p for p in orphans if pid_alive(p)]
        for pid in orphans:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        return True

    def _orphans(self) -> list[int]:
        target = str(self.pgdata.resolve())
        found = []
        for entry in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError):
                if os.readlink(entry / "cwd") == target and int(entry.name) != os.getpid():
                    found.append(int(entry.name))
        return found

    def start(self, port: int, *, settings: dict[str, str], timeout: float = 60) -> int:
        """Start the postmaster on ``port``; return its pid once it accepts connections."""
        check_reachable(self.socket_dir, self.run_as)
        self._own(self.socket_dir, 0o755)
        cmd = [
            self.bin.tool("postgres"),
            "-D", str(self.pgdata),
            "-p", str(port),
            "-k", str(self.socket_dir),
            "-c", "listen_addresses=127.0.0.1",
        ]  # fmt: skip
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        offset = self.log.stat().st_size if self.log.exists() else 0
        uid, gid, groups = self._ids()
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.pgdata,
                start_new_session=True,  # Ctrl-C in the terminal must not reach it
                user=uid,
                group=gid,
                extra_groups=groups,
            )
        CHILDREN[proc.pid] = proc
        try:
            self._wait_ready(proc, offset, timeout)
        except BaseException:
            self._kill(proc)
            raise
        return int(proc.pid)

    def _wait_ready(self, proc: subprocess.Popen[bytes], offset: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            lines = self._pid_file()
            if len(lines) > 7 and lines[0].strip() == str(proc.pid) and lines[7].strip() == "ready":
                return
            if proc.poll() is not None:
                new_log = log_since(self.log, offset)
                if "Address already in use" in new_log:
                    raise PortTaken(new_log)
                raise self._start_error(f"exited with code {proc.returncode}", new_log)
            if time.monotonic() > deadline:
                raise self._start_error(f"was not ready after {timeout:.0f} s", "")
            time.sleep(POLL)

    def _start_error(self, what: str, new_log: str) -> ServerStartError:
        lines = new_log.strip().splitlines()[-12:] if new_log.strip() else []
        tail = "\n".join(lines) if lines else log_tail(self.log)
        return ServerStartError(
            f"PostgreSQL on {self.pgdata} {what}; the last lines of {self.log}:\n{tail}",
            path=self.log,
            hint="Fix the cause shown in the log, then run dbenv up again.",
        )

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        CHILDREN.pop(proc.pid, None)

    def stop_target(self) -> StopTarget | None:
        """Fast shutdown is SIGINT; SIGQUIT (immediate) when it takes too long."""
        pid = self.running_pid()
        return (pid, signal.SIGINT, signal.SIGQUIT) if pid is not None else None

    def stop(self, *, timeout: float = 30) -> int | None:
        """Fast shutdown and wait until the postmaster is gone; its pid, if any."""
        target = self.stop_target()
        if target is None:
            return None
        stop_all([target], timeout=timeout)
        return target[0]
