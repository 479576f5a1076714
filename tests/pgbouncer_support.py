"""A real PgBouncer in transaction mode in front of the suite's PostgreSQL.

The ``pgbouncer`` session fixture (conftest.py) starts one from the machine's
``pgbouncer`` binary (Debian package ``pgbouncer``; ``.ci/run`` installs it) on a
free port. As root it runs as the unprivileged user the suite's PostgreSQL runs
as (PgBouncer refuses root too). ``alias(name, dbname)`` adds a PgBouncer
database alias (``name`` reaches ``dbname``) and reloads it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from dbenv.stack.host import RunAs, free_port, resolve_run_as
from servers import PgServer, missing

__all__ = ["PgBouncer", "start_pgbouncer"]


@dataclass
class PgBouncer:
    """A running PgBouncer: ``dsn_for(dbname)`` goes through it."""

    server: PgServer
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    aliases: dict[str, str] = field(default_factory=dict)
    run_as: RunAs | None = None

    host = "127.0.0.1"

    def dsn_for(self, dbname: str) -> str:
        return f"postgresql://{self.server.user}@{self.host}:{self.port}/{dbname}"

    def alias(self, name: str, dbname: str, *, dead_port: int | None = None) -> str:
        """Make database ``name`` an alias of ``dbname`` on the server; its DSN.

        ``dead_port``: point it at that port instead, where nothing listens (the
        alias then never answers: not waited for, only given a moment to load).
        """
        self.aliases[name] = f"{dbname} port={dead_port}" if dead_port else dbname
        write_config(self.directory, self.server, self.port, self.aliases, self.run_as)
        self.process.send_signal(signal.SIGHUP)
        if dead_port:
            time.sleep(0.5)
            return self.dsn_for(name)
        deadline = time.monotonic() + 10
        while True:  # the reload is asynchronous: wait until the alias answers
            try:
                with psycopg.connect(self.dsn_for(name), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return self.dsn_for(name)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def write_config(
    directory: Path, server: PgServer, port: int, aliases: dict[str, str], run_as: RunAs | None
) -> None:
    """pgbouncer.ini (transaction pooling, trust, the suite's user as admin) and its users file."""
    backend = f"host=127.0.0.1 port={server.port}"
    lines = ["[databases]", f"* = {backend}"]
    for alias, db in aliases.items():  # "name port=N": an alias of a dead port
        name, _, port_part = db.partition(" ")
        target = f"host=127.0.0.1 {port_part}" if port_part else backend
        lines.append(f"{alias} = {target} dbname={name}")
    lines += [
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "auth_type = trust",
        f"auth_file = {directory / 'users.txt'}",
        "pool_mode = transaction",
        # the admin console (SHOW CONFIG: the pool mode dbenv status reports)
        f"admin_users = {server.user}",
        "unix_socket_dir =",
        f"logfile = {directory / 'pgbouncer.log'}",
        f"pidfile = {directory / 'pgbouncer.pid'}",
        # psycopg and libpq send these at connect; PgBouncer would refuse the login
        "ignore_startup_parameters = extra_float_digits,options",
        "max_client_conn = 200",
        "default_pool_size = 10",
        # every alias and database is a pool of its own, and idle server connections
        # stay 600 s by default: over a whole suite they filled the test server's
        # max_connections, and a new alias then waited on server_login_retry (15 s)
        "server_idle_timeout = 5",
        "server_login_retry = 1",
    ]
    ini = directory / "pgbouncer.ini"
    ini.write_text("\n".join(lines) + "\n")
    password = server.password or ""
    (directory / "users.txt").write_text(f'"{server.user}" "{password}"\n')
    for path in (ini, directory / "users.txt"):
        if run_as is not None:
            os.chown(path, run_as.uid, run_as.gid)


def start_pgbouncer(server: PgServer, directory: Path) -> PgBouncer:
    """Start PgBouncer on a free port in front of ``server``; wait until it answers."""
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if binary is None:
        missing("no pgbouncer binary to start a test pooler (apt-get install pgbouncer)")
    run_as = resolve_run_as()
    if run_as is not None:
        os.chown(directory, run_as.uid, run_as.gid)
    port = free_port()
    write_config(directory, server, port, {}, run_as)
    process = subprocess.Popen(
        [binary, "-q", str(directory / "pgbouncer.ini")],
        user=run_as.uid if run_as else None,
        group=run_as.gid if run_as else None,
        extra_groups=[] if run_as else None,
        stdin=subprocess.DEVNULL,
    )
    bouncer = PgBouncer(server, port, directory, process, run_as=run_as)
    deadline = time.monotonic() + 15
    while True:
        try:
            with psycopg.connect(bouncer.dsn_for("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return bouncer
        except psycopg.OperationalError:
            if bouncer.process.poll() is not None or time.monotonic() > deadline:
                bouncer.stop()
                log = directory / "pgbouncer.log"
                tail = log.read_text()[-2000:] if log.exists() else "(no log)"
                raise RuntimeError(f"pgbouncer did not start: {tail}") from None
            time.sleep(0.05)
