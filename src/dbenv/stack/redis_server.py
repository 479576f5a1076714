"""The embedded Redis server: find ``redis-server``, start it without persistence, stop it.

It speaks to the server over a raw socket (PING, INFO), so starting the stack never
imports the redis driver.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from dbenv.stack.host import CHILDREN, StopTarget, pid_alive, stop_all
from dbenv.stack.pg_cluster import on_free_port, wait_started
from dbenv.stack.state import RedisState, StackState

__all__ = ["RedisProcess", "find_redis_server"]


def find_redis_server(*, search_path: str | None = None) -> Path | None:
    """``redis-server`` on PATH (``search_path``) or in /usr/bin, /usr/local/bin; else None."""
    found = shutil.which("redis-server", path=search_path)
    if found:
        return Path(found)
    if search_path is None:
        for place in (Path("/usr/bin/redis-server"), Path("/usr/local/bin/redis-server")):
            if os.access(place, os.X_OK):
                return place
    return None


def _ask(port: int, command: bytes, *, timeout: float = 0.5) -> bytes:
    """Send one inline command; return the reply (a simple or a bulk string)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(command + b"\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        header, _, body = data.partition(b"\r\n")
        if not header.startswith(b"$"):
            return header
        size = int(header[1:])
        while len(body) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return body[:size]


class RedisProcess:
    """One Redis server whose files live in ``<data_dir>``: ``redis.pid``, ``redis.log``."""

    def __init__(self, data_dir: Path, *, binary: Path) -> None:
        self.data_dir = data_dir
        self.binary = binary
        self.pid_file = data_dir / "redis.pid"
        self.log = data_dir / "redis.log"
        self.workdir = data_dir / "redis"

    def running_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if not pid_alive(pid):
            return None
        if pid in CHILDREN:
            return pid
        try:
            return pid if Path(os.readlink(f"/proc/{pid}/cwd")) == self.workdir.resolve() else None
        except FileNotFoundError:
            return pid if not Path("/proc/self").exists() else None
        except OSError:
            return None

    def start(self, port: int, *, persist: bool = False, timeout: float = 30) -> int:
        """Start on 127.0.0.1:``port``; return its pid once it answers.

        Nothing is kept on disk unless ``persist``: then Redis's default snapshots and
        an append-only file, in ``workdir``, survive a restart.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        save = "3600 1 300 100 60 10000" if persist else ""
        cmd = [
            str(self.binary),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", save,
            "--appendonly", "yes" if persist else "no",
            "--daemonize", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        CHILDREN[proc.pid] = proc
        try:
            self._wait_ready(proc, port, offset, timeout)
        except BaseException:
            self._kill(int(proc.pid))
            raise
        self.pid_file.write_text(f"{proc.pid}\n")
        return int(proc.pid)

    def _wait_ready(
        self, proc: subprocess.Popen[bytes], port: int, offset: int, timeout: float
    ) -> None:
        wait_started(
            proc,
            ready=lambda: _ask(port, b"PING").startswith(b"+PONG"),
            what="redis-server",
            log=self.log,
            offset=offset,
            timeout=timeout,
            hint="skip Redis with --no-redis",
        )

    def version(self, port: int) -> str:
        with contextlib.suppress(OSError):
            for line in _ask(port, b"INFO server").decode(errors="replace").splitlines():
                if line.startswith("redis_version:"):
                    return line.split(":", 1)[1].strip()
        return "unknown"

    def _kill(self, pid: int) -> None:
        stop_all([(pid, signal.SIGTERM, signal.SIGKILL)], timeout=10)

    def stop_target(self) -> StopTarget | None:
        """SIGTERM (nothing is saved: persistence is off); SIGKILL when it hangs."""
        pid = self.running_pid()
        self.pid_file.unlink(missing_ok=True)
        return (pid, signal.SIGTERM, signal.SIGKILL) if pid is not None else None

    def stop(self) -> int | None:
        """Stop and wait until it is gone; its pid, if any."""
        target = self.stop_target()
        if target is not None:
            stop_all([target], timeout=10)
        return target[0] if target else None


def ensure_redis(
    proc: RedisProcess | None,
    previous: StackState | None,
    *,
    wanted_port: int,
    pick_port: Callable[[int], int],
    persist: bool,
    say: Callable[..., None],
    started: list[str],
) -> RedisState | None:
    """The stack's Redis: the one ``previous`` recorded while it runs, else started anew;
    None (and a notice) without a ``redis-server`` binary."""
    if proc is None:
        say(
            "redis-server not found on PATH; Redis not started "
            "(apt-get install redis-server, or [local] redis = false)",
            notice=True,
        )
        return None
    pid = proc.running_pid()
    if pid is not None and previous and previous.redis and previous.redis.pid == pid:
        return previous.redis
    pid, port = on_free_port(
        lambda port: proc.start(port, persist=persist),
        wanted=wanted_port,
        pick_port=pick_port,
        what="Redis",
    )
    started.append("redis")
    version = proc.version(port)
    say(f"Redis {version} listening on 127.0.0.1:{port}")
    return RedisState(port=port, pid=pid, version=version)
