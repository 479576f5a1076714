"""The local stack: PostgreSQL (and Redis) that dbenv starts, or an existing server it reuses.

A server dbenv starts (``LocalStack``) and one it only points at
(``ExternalServer``) share one interface, ``Server``: ``start``, ``stop``,
``status``, ``urls`` (compare pytest-postgresql's executor and no-op executor).

``LocalStack`` keeps everything in one data directory::

    <data_dir>/.dbenv-created   marker: dbenv created this directory (purge needs it)
    <data_dir>/postgres/        the cluster (PGDATA)
    <data_dir>/postgres.log     the server's log
    <data_dir>/run/             the unix socket (trust; TCP needs a password)
    <data_dir>/state.json       ports, pids, versions: what ``server = "local"`` resolves to
    <data_dir>/redis*           Redis's pid file, log and working directory
    <data_dir>/replica/         [local] replica = true: the hot standby (PGDATA, socket, log)
    <data_dir>/pgbouncer/       [local] pooler = true: PgBouncer's ini, log and pid file

Run as root, PostgreSQL runs as an unprivileged user (it refuses root). When that
user cannot reach the data directory (a 0700 home or ``mktemp -d`` folder), dbenv
does not loosen the user's directory: the cluster, its socket and log go to a
root-owned ``/var/lib/dbenv/<hash of the data directory>`` instead, recorded in the
marker and in ``state.json`` (which stays in the data directory), and ``up`` says so.

It never deletes a directory it did not create, and ``start`` interrupted half-way
(an error or Ctrl-C) stops whatever it had started.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from dbenv.errors import GuardRefusal, ServerStartError
from dbenv.stack.host import (
    RELOCATED,
    PgBinaries,
    RunAs,
    check_reachable,
    find_pg_binaries,
    free_port,
    is_reachable,
    make_data_dir,
    make_root_home,
    reachable_binaries,
    relocated_home,
    resolve_run_as,
    stop_all,
)
from dbenv.stack.pg_cluster import PgCluster, check_socket_dir, on_free_port
from dbenv.stack.pgbouncer import PgBouncerProcess, require_pgbouncer
from dbenv.stack.redis_server import RedisProcess, ensure_redis, find_redis_server
from dbenv.stack.shape import ensure_pooler, ensure_replica, replica_cluster
from dbenv.stack.state import (
    MARKER,
    STATE,
    ExternalServer,
    PgState,
    PoolerState,
    RedisState,
    Server,
    ServerURLs,
    StackState,
    StackStatus,
    last_ports,
    pg_socket_url,
    read_marker,
    read_state,
    remember_ports,
    write_marker,
)

__all__ = [
    "MARKER",
    "ExternalServer",
    "LocalStack",
    "PgState",
    "PoolerState",
    "RedisState",
    "Server",
    "ServerURLs",
    "StackState",
    "StackStatus",
    "pg_socket_url",
    "read_state",
]

# as root, binaries the server's user cannot reach are copied here (root-owned, 0755)
BINARIES_CACHE = Path("/var/cache/dbenv/binaries")
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

Progress = Callable[[str], None]


class LocalStack:
    """PostgreSQL (and Redis) started by dbenv from the machine's binaries."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int = 0,
        redis: bool = True,
        redis_port: int = 0,
        redis_persist: bool = False,
        replica: bool = False,
        replica_port: int = 0,
        pooler: bool = False,
        pooler_port: int = 0,
        disposable: bool = True,
        pg_bindir: Path | None = None,
        search_path: str | None = None,
        host_auth: str = "scram-sha-256",
        superuser: str = "postgres",
        initdb_cache: Path | None = None,
        binaries_cache: Path = BINARIES_CACHE,
        progress: Progress | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.redis = redis
        self.redis_port = redis_port
        self.redis_persist = redis_persist
        self.replica = replica
        self.replica_port = replica_port
        self.pooler = pooler
        self.pooler_port = pooler_port
        self.disposable = disposable
        self.pg_bindir = pg_bindir
        self.search_path = search_path
        self.host_auth = host_auth
        self.superuser = superuser
        self.initdb_cache = initdb_cache
        self.binaries_cache = binaries_cache
        self._progress = progress
        self._notices: list[str] = []

    # -- bookkeeping ------------------------------------------------------------------
    def _say(self, text: str, *, notice: bool = False) -> None:
        if notice:
            self._notices.append(text)
        if self._progress is not None:
            self._progress(text)

    @property
    def marker(self) -> Path:
        return self.data_dir / MARKER

    def _marker_data(self) -> dict[str, object]:
        return read_marker(self.data_dir)

    @property
    def home(self) -> Path:
        """Where the cluster, its socket and log live: the data directory, or the
        root-owned directory under ``RELOCATED`` the marker names."""
        home = self._marker_data().get("home")
        return Path(home) if isinstance(home, str) and home else self.data_dir

    def _mark(self, **fields: object) -> None:
        write_marker(self.data_dir, **fields)

    def _placed(self, cluster: PgCluster) -> PgCluster:
        """``cluster``, or the same under ``RELOCATED`` when its user cannot reach it."""
        run_as = cluster.run_as
        if run_as is None or cluster.initialized or is_reachable(cluster.pgdata, run_as):
            return cluster
        home = relocated_home(self.data_dir)
        check_reachable(home / "postgres", run_as)  # a /var/lib it cannot reach: say so
        return self._cluster_in(home, cluster.binaries, run_as)

    def _cluster_in(
        self, home: Path, binaries: PgBinaries | None, run_as: RunAs | None
    ) -> PgCluster:
        return PgCluster(
            home,
            binaries=binaries,
            run_as=run_as,
            superuser=self.superuser,
            host_auth=self.host_auth,
        )

    def _cluster(self, *, binaries: bool = False) -> PgCluster:
        found = None
        run_as = None
        if binaries:
            probe = PgCluster(self.data_dir)
            found = find_pg_binaries(
                bindir=self.pg_bindir, search_path=self.search_path, want_major=probe.data_major()
            )
            run_as = resolve_run_as(progress=lambda text: self._say(text, notice=True))
            found = reachable_binaries(found, run_as, self.binaries_cache)
        return self._cluster_in(self.home, found, run_as)

    def _bouncer(self, run_as: RunAs | None = None) -> PgBouncerProcess:
        """The stack's PgBouncer (its binary is looked up only to start one)."""
        from dbenv.stack.pgbouncer import find_pgbouncer

        binary = find_pgbouncer(search_path=self.search_path) or Path("pgbouncer")
        return PgBouncerProcess(self.home, binary=binary, run_as=run_as)

    def _redis(self) -> RedisProcess | None:
        binary = find_redis_server(search_path=self.search_path)
        return RedisProcess(self.data_dir, binary=binary) if binary else None

    # -- Server interface ---------------------------------------------------------------
    def urls(self) -> ServerURLs:
        state = read_state(self.data_dir)
        if state is None or state.postgres is None:
            raise ServerStartError(
                f"the local stack in {self.data_dir} is not running.", hint="Run dbenv up."
            )
        redis = f"redis://{state.redis.host}:{state.redis.port}" if state.redis else None
        return ServerURLs(pg_socket_url(state.postgres), redis)

    def status(self) -> StackStatus:
        state = read_state(self.data_dir)
        cluster = self._cluster()
        pid = cluster.running_pid()
        if state is None or state.postgres is None or pid is None:
            return StackStatus("local", running=False, state=state)
        redis_state = state.redis
        proc = self._redis()
        if redis_state and (proc is None or proc.running_pid() != redis_state.pid):
            redis_state = None
        replica = state.replica
        if replica and replica_cluster(cluster).running_pid() != replica.pid:
            replica = None
        pooler = state.pooler
        if pooler and self._bouncer().running_pid() != pooler.pid:
            pooler = None
        state = StackState(replace(state.postgres, pid=pid), redis_state, replica, pooler)
        return StackStatus("local", running=True, state=state, urls=self.urls())

    def _complete(self, state: StackState | None) -> bool:
        """Whether everything asked for runs already (``up`` then starts nothing)."""
        if state is None:
            return False
        return (
            (state.redis is not None or not self._want_redis())
            and (state.replica is not None or not self.replica)
            and (state.pooler is not None or not self.pooler)
        )

    def start(self, *, meanwhile: Callable[[], object] | None = None) -> StackStatus:
        """Start what is not running (idempotent); on any failure or Ctrl-C stop what it began.

        ``meanwhile`` runs once the primary is up and ``state.json`` names it, while
        the replica and the pooler start (``dbenv up`` provisions then: the standby's
        start then costs nothing on top). Its error is raised once the stack is up and
        recorded: it stops nothing (a Ctrl-C still does).
        """
        self._notices = []
        current = self.status()
        if current.running and self._complete(current.state):
            self._say("the local stack is already running")
            if meanwhile is not None:
                meanwhile()
            return replace(current, notices=tuple(self._notices))
        if self.pooler:  # before anything starts: a missing binary is a config error
            require_pgbouncer(search_path=self.search_path)
        cluster = self._placed(self._cluster(binaries=True))
        cluster.check_version()
        # before creating anything: the server's user must reach its data and socket
        check_reachable(cluster.pgdata, cluster.run_as)
        check_socket_dir(cluster.socket_dir, cluster.run_as, inside=cluster.data_dir)
        fresh_dir = make_data_dir(self.data_dir)
        if cluster.data_dir != self.data_dir:
            self._relocate(cluster, fresh_dir=fresh_dir)
        started: list[str] = []
        created = False
        try:
            # Redis starts in a thread while PostgreSQL starts: up costs the slower one.
            with ThreadPoolExecutor(1, thread_name_prefix="dbenv-redis") as pool:
                redis_start = pool.submit(self._ensure_redis, started=started)
                try:
                    pg, created = self._ensure_postgres(
                        cluster, fresh_dir=fresh_dir, started=started
                    )
                finally:
                    wait([redis_start])  # before any undo: never leave it starting
                redis = redis_start.result()
            state = StackState(pg, redis)
            (self.data_dir / STATE).write_text(state.to_json())  # what meanwhile resolves
            failed: Exception | None = None
            with ThreadPoolExecutor(1, thread_name_prefix="dbenv-shape") as pool:
                shaping = pool.submit(self._shape, cluster, state, started=started)
                try:
                    if meanwhile is not None:
                        meanwhile()
                except Exception as exc:  # its error, once the servers are recorded
                    failed = exc
                finally:
                    wait([shaping])  # before any undo: never leave a standby starting
                state = shaping.result()
            (self.data_dir / STATE).write_text(state.to_json())
            remember_ports(self.data_dir, state)
        except BaseException:
            self._undo(cluster, started, created=created)
            raise
        if failed is not None:  # the stack runs; what meanwhile did failed (as before)
            raise failed
        return StackStatus(
            "local",
            running=True,
            state=state,
            urls=self.urls(),
            created=created,
            started=tuple(started),
            notices=tuple(self._notices),
        )

    def _shape(self, cluster: PgCluster, state: StackState, *, started: list[str]) -> StackState:
        """Add the replica and the pooler ``[local]`` asks for, in front of the primary."""
        primary = state.postgres
        assert primary is not None
        last = last_ports(self.data_dir)

        def say(text: str) -> None:
            self._say(text)

        replica = pooler = None
        if self.pooler:
            pooler = ensure_pooler(
                self._bouncer(cluster.run_as),
                primary,
                wanted_port=self.pooler_port or last.get("pooler", 0),
                pick_port=lambda p: self._pick_port(p, "PgBouncer", configured=self.pooler_port),
                say=say,
                started=started,
            )
        if self.replica:
            replica = ensure_replica(
                cluster,
                primary,
                settings=self._settings(),
                wanted_port=self.replica_port or last.get("replica", 0),
                pick_port=lambda p: self._pick_port(p, "the replica", configured=self.replica_port),
                say=say,
                started=started,
            )
        return replace(state, replica=replica, pooler=pooler)

    def _relocate(self, cluster: PgCluster, *, fresh_dir: bool) -> None:
        """Make the root-owned home of a relocated cluster and record it in the marker."""
        home = cluster.data_dir
        make_root_home(home)
        marker = self._marker_data()
        self._mark(created_by="dbenv", data_dir=marker.get("data_dir", fresh_dir), home=str(home))
        user = cluster.run_as.name if cluster.run_as else "the server's user"
        self._say(
            f"{self.data_dir} is out of reach of PostgreSQL's user '{user}' (a private"
            f" directory); the cluster lives in {home} instead (root-owned; recorded in"
            f" {self.data_dir / STATE}; dbenv down --purge removes it)",
            notice=True,
        )

    def _want_redis(self) -> bool:
        return self.redis and find_redis_server(search_path=self.search_path) is not None

    def _ensure_postgres(
        self, cluster: PgCluster, *, fresh_dir: bool, started: list[str]
    ) -> tuple[PgState, bool]:
        created = False
        pid = cluster.running_pid()
        if pid is not None:
            port = cluster.running_port() or 0
        else:
            if cluster.clear_stale():
                self._say(
                    "removed a stale postmaster.pid (crash or reboot) and recovered", notice=True
                )
            if not cluster.initialized:
                self._initdb(cluster, fresh_dir=fresh_dir)
                created = True
            pid, port = self._start_postgres(cluster)
            started.append("postgres")
        state = PgState(
            port=port,
            socket_dir=str(cluster.socket_dir),
            superuser=self.superuser,
            pid=pid,
            version=cluster.bin.version,
            data_dir=str(cluster.pgdata),
            bindir=str(cluster.bin.bindir),
        )
        return state, created

    def _initdb(self, cluster: PgCluster, *, fresh_dir: bool) -> None:
        if cluster.pgdata.exists() and any(cluster.pgdata.iterdir()):
            raise ServerStartError(
                f"{cluster.pgdata} is not empty and holds no PostgreSQL cluster (no PG_VERSION); "
                "nothing was changed.",
                path=cluster.pgdata,
                hint="Move it away or set [local] data_dir to another directory.",
            )
        marker = self._marker_data()
        data_dir_ours = bool(marker["data_dir"]) if "data_dir" in marker else fresh_dir
        self._mark(created_by="dbenv", data_dir=data_dir_ours, cluster=True)
        try:
            copied = cluster.initdb(no_sync=self.disposable, cache=self.initdb_cache)
        except BaseException:
            shutil.rmtree(cluster.pgdata, ignore_errors=True)  # ours: the marker says so
            raise
        how = "copied a cached initdb" if copied else "initdb"
        self._say(f"{how} into {cluster.pgdata} (PostgreSQL {cluster.bin.version})")

    def _start_postgres(self, cluster: PgCluster) -> tuple[int, int]:
        settings = self._settings()
        pid, port = on_free_port(
            lambda port: cluster.start(port, settings=settings),
            wanted=self.port or last_ports(self.data_dir).get("postgres", 0),
            pick_port=lambda p: self._pick_port(p, "PostgreSQL", configured=self.port),
            what="PostgreSQL",
        )
        who = f" as user '{cluster.run_as.name}' (it refuses root)" if cluster.run_as else ""
        self._say(f"PostgreSQL {cluster.bin.version} listening on 127.0.0.1:{port}{who}")
        return pid, port

    def _settings(self) -> dict[str, str]:
        fast = self.disposable and bool(self._marker_data().get("cluster"))
        return dict(FAST_SETTINGS) if fast else {}

    def _pick_port(self, wanted: int, what: str, *, configured: int) -> int:
        port = free_port(wanted)
        if configured and port != configured:
            self._say(f"port {configured} is taken; {what} listens on {port} instead", notice=True)
        return port

    def _ensure_redis(self, *, started: list[str]) -> RedisState | None:
        if not self.redis:
            return None
        return ensure_redis(
            self._redis(),
            read_state(self.data_dir),
            wanted_port=self.redis_port or last_ports(self.data_dir).get("redis", 0),
            pick_port=lambda p: self._pick_port(p, "Redis", configured=self.redis_port),
            persist=self.redis_persist,
            say=self._say,
            started=started,
        )

    def _undo(self, cluster: PgCluster, started: list[str], *, created: bool) -> None:
        """Stop what this ``start`` began, so an error or Ctrl-C leaves nothing running."""
        if "pooler" in started:
            with contextlib.suppress(Exception):
                self._bouncer().stop()
        if "replica" in started:
            with contextlib.suppress(Exception):
                replica_cluster(cluster).stop()
        if "redis" in started:
            with contextlib.suppress(Exception):
                proc = self._redis()
                if proc is not None:
                    proc.stop()
        if "postgres" in started:
            with contextlib.suppress(Exception):
                cluster.stop()
        (self.data_dir / STATE).unlink(missing_ok=True)

    def stop(self) -> StackStatus:
        """Fast shutdown of every server of the stack; waits until all are gone."""
        proc = self._redis()
        cluster = self._cluster()
        targets = [
            proc.stop_target() if proc else None,
            self._bouncer().stop_target(),
            replica_cluster(cluster).stop_target(),
            cluster.stop_target(),
        ]
        stopping = [target for target in targets if target is not None]
        stop_all(stopping)  # all at once: down costs the slowest, not the sum
        (self.data_dir / STATE).unlink(missing_ok=True)
        return StackStatus("local", running=False, stopped=tuple(t[0] for t in stopping))

    def purge(self) -> StackStatus:
        """Stop, then delete the data directory, only when the marker proves dbenv made it."""
        if not self.data_dir.exists():
            return StackStatus("local", running=False)
        if not self._marker_data().get("data_dir"):
            raise GuardRefusal(
                f"refusing to delete {self.data_dir}: no {MARKER} marker shows that dbenv "
                "created it; nothing was deleted.",
                check="marker",
                hint="Delete it yourself if it is really disposable.",
            )
        result = self.stop()
        home = self.home
        cluster = self._cluster()
        for socket_dir in (cluster.socket_dir, replica_cluster(cluster).socket_dir):
            if not socket_dir.is_relative_to(home):
                shutil.rmtree(socket_dir, ignore_errors=True)  # the short one under /tmp
        if home != self.data_dir and home.parent == RELOCATED:
            shutil.rmtree(home, ignore_errors=True)  # the marker names it: dbenv made it
        shutil.rmtree(self.data_dir)
        return result
