"""A Redis Cluster environment against a real three-master cluster the suite starts.

``dbenv flush`` of a disposable environment on a cluster removes exactly its key
prefix on every master; a cluster without a prefix, or one a protected environment
uses (however its seeds are spelled), is refused with nothing changed; ``dbenv
status`` shows the cluster's nodes, slots and state. Every test writes keys under a
unique prefix, so the one session cluster is shared safely.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster as Client
from typer.testing import CliRunner, Result

from dbenv.backends import redis as backend
from dbenv.backends.redis_cluster import parse_nodes
from dbenv.cli import app
from dbenv.safety import journal
from lifecycle_support import load
from pytest_plugin_support import drop_project_databases, make_project
from redis_cluster_support import RedisCluster

TAGS = [f"{{t{n}}}" for n in range(24)]  # hash tags: keys spread over many slots


@dataclass
class Site:
    root: Path
    cluster: RedisCluster
    client: Client
    prefix: str  # unique per test: every key this test writes starts with it

    def write(self, environments: str) -> None:
        (self.root / "dbenv.toml").write_text(
            '[project]\nname = "app"\n\n' + environments, encoding="utf-8"
        )

    def fill(self, part: str) -> list[bytes]:
        keys = [f"{self.prefix}{part}:{tag}:k".encode() for tag in TAGS]
        for key in keys:
            self.client.set(key, "v")
        return keys

    def present(self) -> list[bytes]:
        found: list[bytes] = []
        for port in self.cluster.ports:
            node = redis.Redis(port=port)
            found += node.scan_iter(match=self.prefix + "*")
            node.close()
        return sorted(found)

    def on_each_master(self, keys: list[bytes]) -> bool:
        holders = set()
        for port in self.cluster.ports:
            node = redis.Redis(port=port)  # SCAN lists the node's own keys only
            if set(node.scan_iter(match=self.prefix + "*")) & set(keys):
                holders.add(port)
            node.close()
        return holders == set(self.cluster.ports)

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(app, ["--project", str(self.root), *args])


@pytest.fixture
def site(redis_cluster: RedisCluster, tmp_path: Path) -> Iterator[Site]:
    client = Client.from_url(redis_cluster.seeds[0])
    made = Site(tmp_path, redis_cluster, client, f"rc{uuid.uuid4().hex[:8]}:")
    yield made
    for key in made.present():
        client.delete(key)
    client.close()


def seeds(cluster: RedisCluster, *which: int, host: str = "127.0.0.1") -> str:
    return json.dumps([f"redis://{host}:{cluster.ports[n]}" for n in which])


def test_flush_removes_the_prefix_on_every_master_and_nothing_else(site: Site) -> None:
    site.write(
        f'[environments.scratch]\ntier = "disposable"\n'
        f'redis_cluster = {seeds(site.cluster, 0)}\nredis_prefix = "{site.prefix}scr:"\n'
    )
    mine, others = site.fill("scr"), site.fill("other")
    assert site.on_each_master(mine)
    result = site.cli("flush", "scratch")
    assert result.exit_code == 0, result.output
    assert f"flushed scratch: 24 keys with prefix '{site.prefix}scr:' on the Redis" in (
        result.stdout
    )
    assert "3 masters" in result.stdout
    assert site.present() == sorted(others)
    last = journal.read_local(site.root)[-1]
    assert (last["outcome"], last["rows"]) == ("ok", {"keys": 24})
    assert last["arguments"]["cluster"] is True


def test_a_cluster_without_a_prefix_is_refused(site: Site) -> None:
    site.write(
        f'[environments.scratch]\ntier = "disposable"\nredis_cluster = {seeds(site.cluster, 1)}\n'
    )
    kept = site.fill("any")
    result = site.cli("flush", "scratch")
    assert result.exit_code == 2, result.output
    assert "has no redis_prefix; dbenv flushes a cluster only by key prefix" in result.output
    assert "Traceback" not in result.output
    assert site.present() == sorted(kept)


@pytest.mark.parametrize(
    ("production", "how"),
    [
        ("redis_cluster = {same}\nredis_prefix = 'p:'", "node localhost:"),  # another prefix
        ("redis_cluster = {other}", "node localhost:"),  # another node: found via CLUSTER NODES
        ("redis_cluster = {alias}", "by node id"),  # spelled 127.1: only the node ids tell
        ("[environments.production.redis.cache]\ncluster = {alias}", "by node id"),  # a role
        ("redis_url = 'redis://127.1:{port}'", "by node id"),  # one node of it, as a single Redis
    ],
    ids=["same-seed", "other-node", "alias", "role", "node-url"],
)
def test_a_cluster_a_protected_environment_uses_is_refused(
    site: Site, production: str, how: str
) -> None:
    cluster = site.cluster
    shown = production.format(
        same=seeds(cluster, 0),
        other=seeds(cluster, 2),
        alias=seeds(cluster, 1, host="127.1"),
        port=cluster.ports[1],
    )
    site.write(
        f'[environments.scratch]\ntier = "disposable"\n'
        f'redis_cluster = {seeds(cluster, 0)}\nredis_prefix = "{site.prefix}scr:"\n\n'
        f"[environments.production]\n{shown}\n"
    )
    kept = site.fill("scr")
    result = site.cli("flush", "scratch")
    assert result.exit_code == 3, result.output
    assert "check 'redis-shared' failed" in result.output
    assert "Redis Cluster protected environment 'production' uses" in result.output
    assert how in result.output
    assert site.present() == sorted(kept)
    last = journal.read_local(site.root)[-1]
    assert last["outcome"] == "refused" and "redis-shared" in last["detail"]


def test_a_single_node_env_on_a_protected_cluster_node_is_refused(site: Site) -> None:
    port = site.cluster.ports[2]
    site.write(
        f'[environments.scratch]\ntier = "disposable"\nredis_url = "redis://127.1:{port}"\n\n'
        f"[environments.production]\nredis_cluster = {seeds(site.cluster, 0)}\n"
    )
    kept = site.fill("x")
    result = site.cli("flush", "scratch")
    assert result.exit_code == 3, result.output
    assert "by node id" in result.output  # FLUSHDB would have emptied production's slots
    assert site.present() == sorted(kept)


def test_a_seed_that_is_a_single_redis_is_bad_config(site: Site, redis_server: Any) -> None:
    site.write(
        f'[environments.scratch]\ntier = "disposable"\n'
        f'redis_cluster = ["{redis_server.url}"]\nredis_prefix = "{site.prefix}s:"\n'
    )
    result = site.cli("flush", "scratch")
    assert result.exit_code == 2, result.output
    assert "is a single Redis server (cluster support disabled), not a cluster node" in (
        result.output
    )


def test_roles_are_flushed_with_the_environment(site: Site, redis_server: Any) -> None:
    node = redis.Redis.from_url(redis_server.url, db=11)
    node.set(f"{site.prefix}main", "m")
    site.write(
        f'[environments.scratch]\ntier = "disposable"\nredis_url = "{redis_server.url}"\n'
        f'redis_db = 11\nredis_prefix = "{site.prefix}"\n\n'
        f"[environments.scratch.redis.queue]\ncluster = {seeds(site.cluster, 1)}\n"
        f'prefix = "{site.prefix}q:"\n'
    )
    site.fill("q")
    kept = site.fill("cache")
    result = site.cli("flush", "scratch", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["keys_removed"], shown["masters"]) == (1, 0)
    (queue,) = shown["roles"]
    assert (queue["role"], queue["keys_removed"], queue["masters"]) == ("queue", 24, 3)
    assert site.present() == sorted(kept) and node.get(f"{site.prefix}main") is None
    node.close()


def test_an_overridden_flush_snapshots_every_master_and_restores(site: Site) -> None:
    site.write(
        f"[environments.staging]\nredis_cluster = {seeds(site.cluster, 0, 1, 2)}\n"
        f'redis_prefix = "{site.prefix}stg:"\n'
    )
    site.client.set(f"{site.prefix}stg:{{t1}}:ttl", "v", px=600_000)
    mine = sorted([*site.fill("stg"), f"{site.prefix}stg:{{t1}}:ttl".encode()])
    refused = site.cli("flush", "staging")
    assert refused.exit_code == 3 and site.present() == mine
    done = site.cli("flush", "staging", "--i-mean-it", "redis/0")
    assert done.exit_code == 0, done.output
    assert site.present() == []
    last = journal.read_local(site.root)[-1]
    saved = Path(last["snapshot"])
    assert last["override"] == "redis/0" and "redis-cluster" in saved.name
    env = load(site.root).environment("staging")
    assert backend.restore_snapshot(env, saved) == 25
    assert site.present() == mine
    assert 0 < int(site.client.pttl(f"{site.prefix}stg:{{t1}}:ttl")) <= 600_000


def test_status_shows_the_clusters_nodes_slots_state_and_prefix(site: Site) -> None:
    site.write(
        f'[environments.scratch]\ntier = "disposable"\n'
        f'redis_cluster = {seeds(site.cluster, 2)}\nredis_prefix = "{site.prefix}s:"\n'
    )
    result = site.cli("status", "scratch", "--json")
    assert result.exit_code == 0, result.output
    (main,) = json.loads(result.stdout)["environments"][0]["topology"]["redis_roles"]
    assert (main["role"], main["cluster"], main["reachable"]) == ("main", True, True)
    assert (main["cluster_state"], main["masters"], main["replicas"]) == ("ok", 3, 0)
    assert (main["slots_covered"], main["prefix"]) == (16384, f"{site.prefix}s:")
    table = site.cli("status", "scratch")
    assert "cluster_state ok, 3 masters, 0 replicas, 16384/16384 slots" in table.stdout


def test_cluster_nodes_lines_parse_roles_slots_and_failures() -> None:
    text = (
        "a1 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 [5461->-b2]\n"
        "b2 10.0.0.2:7000@17000 master,fail - 0 0 2 disconnected 5461-10922 16000\n"
        "c3 10.0.0.3:7000@17000 slave a1 0 0 1 connected\n"
        "d4 :0@0 handshake - 0 0 0 connected\n"
    )
    a, b, c = parse_nodes(text)
    assert (a.master, a.slots, a.failed) == (True, 5461, False)
    assert (b.master, b.slots, b.failed) == (True, 5463, True)
    assert (c.master, c.slots, c.host) == (False, 0, "10.0.0.3")


PLUGIN_TESTS = """
def test_sets_keys(dbenv_redis):
    assert type(dbenv_redis).__name__ == "RedisCluster"
    for tag in ("{{a}}", "{{b}}", "{{c}}"):
        dbenv_redis.set("{prefix}" + tag, "v")


def test_the_keys_are_gone(dbenv_redis):
    assert [dbenv_redis.get("{prefix}" + t) for t in ("{{a}}", "{{b}}", "{{c}}")] == [None] * 3
"""


@pytest.mark.parametrize("prefixed", [True, False], ids=["prefix", "no-prefix"])
def test_the_plugins_redis_fixture_on_a_cluster(
    pytester: pytest.Pytester, pg_server: Any, site: Site, prefixed: bool
) -> None:
    cluster = f"redis_cluster = {seeds(site.cluster, 0)}\n"
    if prefixed:
        cluster += f'redis_prefix = "{site.prefix}t:"\n'
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn, extra="")
    toml = pytester.path / "dbenv.toml"
    text = toml.read_text().replace(
        "[environments.production]", cluster + "\n[environments.production]"
    )
    toml.write_text(text)
    kept = site.fill("other")
    try:
        pytester.makepyfile(test_redis=PLUGIN_TESTS.format(prefix=f"{site.prefix}t:"))
        result = pytester.runpytest("-p", "dbenv", "-p", "no:randomly")
        if prefixed:
            result.assert_outcomes(passed=2)
        else:
            result.assert_outcomes(errors=2)
            result.stdout.fnmatch_lines(["*has no redis_prefix; dbenv flushes a cluster only*"])
        assert site.present() == sorted(kept)
    finally:
        drop_project_databases(made)


def test_each_xdist_worker_gets_its_own_prefix_on_a_cluster(tmp_path: Path) -> None:
    from dbenv.pytest_plugin.targets import WorkerInfo, derive

    (tmp_path / "dbenv.toml").write_text(
        '[project]\nname = "app"\n[environments.test]\ntier = "disposable"\n'
        'database_url = "postgresql://app@localhost/app_test"\n'
        'redis_cluster = ["redis://127.0.0.1:7000"]\nredis_prefix = "t:"\n',
        encoding="utf-8",
    )
    env = load(tmp_path).environment("test")
    prefixes = {w: derive(env, WorkerInfo(w, 2)).redis_prefix for w in ("gw0", "gw1")}
    assert prefixes == {"gw0": "t:gw0_", "gw1": "t:gw1_"}
    assert derive(env, WorkerInfo()).redis_prefix == "t:"  # no xdist: the environment's own
