"""The local stack's PgBouncer: find ``pgbouncer``, start it in transaction mode, stop it.

It sits in front of the local primary the way a production pooler does: apps
reach it over TCP on 127.0.0.1 with their role's password, it reaches the
primary over the trusted unix socket. Client passwords are checked against the
server's own SCRAM verifiers (``auth_query`` run as the superuser over that
socket), so no password is ever written into its files.

Its files live in ``<home>/pgbouncer/``: ``pgbouncer.ini``, an empty
``users.txt``, ``pgbouncer.log`` and ``pgbouncer.pid``. As root it runs as the
server's unprivileged user (PgBouncer refuses root too).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from dbenv.errors import ConfigError
from dbenv.stack.host import CHILDREN, RunAs, StopTarget, pid_alive, stop_all
from dbenv.stack.pg_cluster import wait_started

__all__ = ["PgBouncerProcess", "find_pgbouncer", "require_pgbouncer"]

# Debian puts it in /usr/sbin, which is not on a normal user's PATH
PLACES = (Path("/usr/sbin/pgbouncer"), Path("/usr/local/bin/pgbouncer"), Path("/usr/bin/pgbouncer"))


def find_pgbouncer(*, search_path: str | None = None) -> Path | None:
    """``pgbouncer`` on PATH (``search_path``), else in /usr/sbin and friends; else None.

    /usr/sbin is looked in whatever PATH says: Debian installs it there, off a
    normal user's PATH.
    """
    found = shutil.which("pgbouncer", path=search_path)
    if found:
        return Path(found)
    return next((place for place in PLACES if os.access(place, os.X_OK)), None)


def require_pgbouncer(*, search_path: str | None = None) -> Path:
    """The binary, or exit 2 saying how to install it (before anything is started)."""
    found = find_pgbouncer(search_path=search_path)
    if found is None:
        raise ConfigError(
            "[local] pooler = true asks for a PgBouncer, but no pgbouncer binary was found "
            "(on PATH or in /usr/sbin); install it (apt-get install pgbouncer, or brew install "
            "pgbouncer) or set pooler = false — nothing was started."
        )
    return found


class PgBouncerProcess:
    """One PgBouncer whose files live in ``<home>/pgbouncer``."""

    def __init__(self, home: Path, *, binary: Path, run_as: RunAs | None = None) -> None:
        self.directory = home / "pgbouncer"
        self.binary = binary
        self.run_as = run_as
        self.ini = self.directory / "pgbouncer.ini"
        self.pid_file = self.directory / "pgbouncer.pid"
        self.log = self.directory / "pgbouncer.log"

    def running_pid(self) -> int | None:
        """The pid of a live PgBouncer started on this directory's ini, else None."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if not pid_alive(pid):
            return None
        if pid in CHILDREN:
            return pid
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            return pid if not Path("/proc/self").exists() else None
        except OSError:
            return None
        return pid if str(self.ini).encode() in cmdline else None

    def version(self) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            text = subprocess.run(
                [str(self.binary), "--version"], capture_output=True, text=True, timeout=10
            ).stdout
            match = re.search(r"PgBouncer (\S+)", text)
            if match:
                return match.group(1)
        return "unknown"

    def _write_config(self, port: int, *, socket_dir: str, pg_port: int, superuser: str) -> None:
        self.directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        lines = [
            "[databases]",
            # every database, as the client's own role, over the trusted unix socket;
            # auth_user here, not globally: given for the admin console too, a login
            # there waits for an auth_query no server can answer (3 s in dbenv status)
            f"* = host={socket_dir} port={pg_port} auth_user={superuser}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "pool_mode = transaction",
            # clients log in with their role's password, checked against the server's
            # SCRAM verifier; the query runs as the superuser over the socket (trust)
            "auth_type = scram-sha-256",
            f"auth_file = {self.directory / 'users.txt'}",
            "auth_query = SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename=$1",
            f"admin_users = {superuser}",
            f"logfile = {self.log}",
            f"pidfile = {self.pid_file}",
            # JDBC and others send it at connect; PgBouncer would refuse the login
            "ignore_startup_parameters = extra_float_digits",
            "max_client_conn = 200",
            "default_pool_size = 10",
        ]
        self.ini.write_text("\n".join(lines) + "\n")
        (self.directory / "users.txt").write_text("")  # no password is ever kept here
        if self.run_as is not None:
            for path in (self.directory, self.ini, self.directory / "users.txt"):
                os.chown(path, self.run_as.uid, self.run_as.gid)

    def start(
        self, port: int, *, socket_dir: str, pg_port: int, superuser: str, timeout: float = 30
    ) -> int:
        """Start on 127.0.0.1:``port`` in front of the primary; its pid once it listens."""
        self._write_config(port, socket_dir=socket_dir, pg_port=pg_port, superuser=superuser)
        self.pid_file.unlink(missing_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        uid = self.run_as.uid if self.run_as else None
        gid = self.run_as.gid if self.run_as else None
        proc = subprocess.Popen(
            [str(self.binary), "-q", str(self.ini)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.directory,
            start_new_session=True,  # Ctrl-C in the terminal must not reach it
            user=uid,
            group=gid,
            extra_groups=[] if self.run_as else None,
        )
        CHILDREN[proc.pid] = proc
        try:
            self._wait_ready(proc, port, offset, timeout)
        except BaseException:
            stop_all([(proc.pid, signal.SIGTERM, signal.SIGKILL)], timeout=10)
            raise
        return int(proc.pid)

    def _wait_ready(
        self, proc: subprocess.Popen[bytes], port: int, offset: int, timeout: float
    ) -> None:
        wait_started(
            proc,
            ready=lambda: self._listening(port, proc),
            what="pgbouncer",
            log=self.log,
            offset=offset,
            timeout=timeout,
            hint="set [local] pooler = false",
        )

    def _listening(self, port: int, proc: subprocess.Popen[bytes]) -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return self.running_pid() == proc.pid  # our listener, not another's

    def _setting(self, pattern: str) -> int | None:
        try:
            match = re.search(pattern, self.ini.read_text(), re.MULTILINE)
        except OSError:
            return None
        return int(match.group(1)) if match else None

    def configured_port(self) -> int | None:
        """The port its ini names (where the running one listens)."""
        return self._setting(r"^listen_port = (\d+)$")

    def serves(self, pg_port: int) -> bool:
        """Whether its ini leads to the primary on ``pg_port``."""
        return self._setting(r"^\* = host=\S+ port=(\d+) ") == pg_port

    def stop(self) -> int | None:
        """Stop and wait until it is gone; its pid, if any."""
        target = self.stop_target()
        if target is not None:
            stop_all([target], timeout=10)
        return target[0] if target else None

    def stop_target(self) -> StopTarget | None:
        """SIGTERM is PgBouncer's immediate shutdown (nothing to save); SIGKILL if it hangs."""
        pid = self.running_pid()
        return (pid, signal.SIGTERM, signal.SIGKILL) if pid is not None else None
