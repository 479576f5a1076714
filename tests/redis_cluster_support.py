"""A real local Redis Cluster: three masters the suite starts once per session.

The ``redis_cluster`` session fixture (conftest.py) starts three
``redis-server --cluster-enabled yes`` nodes in a scratch directory (no RDB, no
AOF: a throwaway), joins them with ``redis-cli --cluster create ...
--cluster-replicas 0 --cluster-yes`` and waits until every node says
``cluster_state:ok`` (about 2.4 s on this machine kind). The bus ports are chosen
apart (``--cluster-port``): a free client port above 55535 has no port + 10000.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from dbenv.stack.host import free_port
from servers import missing

__all__ = ["RedisCluster", "start_redis_cluster"]


@dataclass
class RedisCluster:
    """Three masters on 127.0.0.1 (``.ports``); ``.seeds``: one URL per node."""

    ports: tuple[int, ...]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def seeds(self) -> list[str]:
        return [f"redis://127.0.0.1:{port}" for port in self.ports]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _cli(*args: str, timeout: float = 30) -> str:
    done = subprocess.run(
        ["redis-cli", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def _wait(predicate: object, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if callable(predicate) and predicate():
                return
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the test Redis Cluster did not {what} in {timeout} s")
        time.sleep(0.05)


def start_redis_cluster(root: Path, nodes: int = 3) -> RedisCluster:
    """Start ``nodes`` cluster-enabled servers under ``root`` and create the cluster."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        missing(
            "no redis-server/redis-cli to start a test Redis Cluster"
            " (apt-get install redis-server, which brings both)"
        )
    ports: list[int] = []
    while len(ports) < nodes * 2:  # a client port and a bus port per node, all distinct
        port = free_port()
        if port not in ports:
            ports.append(port)
    cluster = RedisCluster(tuple(ports[:nodes]))
    try:
        for port, bus in zip(ports[:nodes], ports[nodes:], strict=True):
            cluster.processes.append(_node(server, root, port, bus))
        for port in cluster.ports:
            _wait(lambda port=port: _cli("-p", str(port), "PING").strip() == "PONG", "start")
        _cli(
            "--cluster",
            "create",
            *(f"127.0.0.1:{port}" for port in cluster.ports),
            "--cluster-replicas",
            "0",
            "--cluster-yes",
        )
        for port in cluster.ports:
            _wait(
                lambda port=port: "cluster_state:ok" in _cli("-p", str(port), "CLUSTER", "INFO"),
                "reach cluster_state:ok",
            )
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _node(server: str, root: Path, port: int, bus: int) -> subprocess.Popen[bytes]:
    directory = root / str(port)
    directory.mkdir(parents=True)
    return subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--cluster-port",
            str(bus),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str(directory / "nodes.conf"),
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
