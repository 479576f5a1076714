"""Topology configuration: replicas, pool_mode, Redis roles and cluster, and what `run` exports.

Every bad-configuration path is exit 2 with one sentence naming the file and what
to change; every URL is masked in output and keeps its origin.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app
from dbenv.config import load_project
from dbenv.config.exports import masked_target_values, target_values

PRODUCTION = """
[project]
name = "shop"

[export]
REDIS_CACHE_HOST = "redis_host:cache"
REDIS_CACHE_PORT = "redis_port:cache"
REDIS_QUEUE_URL = "redis_url:queue"
FIRST_REPLICA = "replica_url+asyncpg:1"
THIRD_REPLICA = "replica_url:3"

[environments.development]
tier = "disposable"
database_url = "postgresql://app@localhost:5432/shop_dev"
redis_url = "redis://localhost:6379"
redis_db = 1

[environments.production]
database_url = "postgresql+asyncpg://app:${PROD_PW}@db-primary:5432/shop"
pooler_url = "postgresql://app:${PROD_PW}@pgbouncer:6432/shop?sslmode=require"
pool_mode = "transaction"
replicas = ["postgresql://app:${PROD_PW}@db-replica-1:5432/shop", "env:PROD_REPLICA_2"]
redis_cluster = ["rediss://redis-0:6379", "rediss://redis-1:6379"]

[environments.production.redis.cache]
host = "cache.internal"
port = 6380
db = 2
password = "env:CACHE_PW"

[environments.production.redis.queue]
url = "redis://queue.internal:6379/5"
prefix = "celery:"
"""
SECRETS = {
    "PROD_PW": "pw-prod-9f3",
    "PROD_REPLICA_2": "postgresql://app:pw-replica-2@db-replica-2:5432/shop",
    "CACHE_PW": "pw-cache-77",
}


def write(root: Path, text: str) -> Path:
    (root / "dbenv.toml").write_text(textwrap.dedent(text))
    return root


def invoke(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(app, ["--project", str(root), *args])


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DATABASE_URL", *SECRETS):
        monkeypatch.delenv(name, raising=False)


def test_production_exports_pooled_direct_replicas_cluster_and_roles(tmp_path: Path) -> None:
    project = load_project(project=write(tmp_path, PRODUCTION), process_env=SECRETS)
    values = target_values(project.environment("production"))
    # applications get the pooler, in the driver database_url was written with
    assert values["DATABASE_URL"] == (
        "postgresql+asyncpg://app:pw-prod-9f3@pgbouncer:6432/shop?sslmode=require"
    )
    assert values["DIRECT_DATABASE_URL"] == (
        "postgresql+asyncpg://app:pw-prod-9f3@db-primary:5432/shop"
    )
    assert values["DATABASE_REPLICA_URLS"] == (
        "postgresql+asyncpg://app:pw-prod-9f3@db-replica-1:5432/shop,"
        "postgresql+asyncpg://app:pw-replica-2@db-replica-2:5432/shop"
    )
    assert values["FIRST_REPLICA"].startswith("postgresql+asyncpg://app:pw-prod-9f3@db-replica-1")
    assert "THIRD_REPLICA" not in values  # production has two
    assert values["REDIS_CLUSTER_URLS"] == "rediss://redis-0:6379,rediss://redis-1:6379"
    assert values["REDIS_URL"] == "rediss://redis-0:6379/0"  # a cluster client's seed
    assert values["REDIS_CACHE_URL"] == "redis://:pw-cache-77@cache.internal:6380/2"
    assert (values["REDIS_CACHE_HOST"], values["REDIS_CACHE_PORT"]) == ("cache.internal", "6380")
    assert values["REDIS_QUEUE_URL"] == "redis://queue.internal:6379/5"


def test_an_environment_without_a_role_serves_it_from_its_main_redis(tmp_path: Path) -> None:
    project = load_project(project=write(tmp_path, PRODUCTION), process_env=SECRETS)
    values = target_values(project.environment("development"))
    assert values["REDIS_CACHE_HOST"] == "localhost" and values["REDIS_CACHE_PORT"] == "6379"
    assert values["REDIS_QUEUE_URL"] == "redis://localhost:6379/1"  # its db index
    # no pooler, no replicas, no cluster: none of their default names
    assert not {"DIRECT_DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_CLUSTER_URLS"} & set(values)
    assert values["DATABASE_URL"] == "postgresql://app@localhost:5432/shop_dev"


def test_names_are_the_projects_and_false_drops_a_default(tmp_path: Path) -> None:
    text = PRODUCTION.replace(
        "[export]\n", '[export]\nDATABASE_REPLICA_URLS = false\nREAD_URL = "replica_urls"\n'
    ).replace(
        "[environments.production]\n",
        '[environments.production]\nexport = { DIRECT_URL = "direct_url" }\n',
    )
    project = load_project(project=write(tmp_path, text), process_env=SECRETS)
    values = target_values(project.environment("production"))
    assert "DATABASE_REPLICA_URLS" not in values and "db-replica-2" in values["READ_URL"]
    assert values["DIRECT_URL"] == values["DIRECT_DATABASE_URL"]


def test_shown_values_are_masked_and_references_never_resolved(tmp_path: Path) -> None:
    project = load_project(project=write(tmp_path, PRODUCTION), process_env={"PROD_PW": "x"})
    shown = masked_target_values(project.environment("production"))
    text = json.dumps(shown)
    assert "pw-" not in text and "x@" not in text
    assert shown["DATABASE_REPLICA_URLS"] == "****"  # one replica is a reference as a whole
    assert shown["FIRST_REPLICA"] == "postgresql+asyncpg://app:****@db-replica-1:5432/shop"
    assert shown["REDIS_CACHE_URL"] == "redis://:****@cache.internal:6380/2"


def test_config_show_gives_each_replica_and_role_its_origin(tmp_path: Path) -> None:
    write(tmp_path, PRODUCTION)
    result = invoke(tmp_path, "config", "show", "production", "--json", "--origin", env=SECRETS)
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert settings["replicas.1"]["origin"] == "dbenv.toml:22"
    assert settings["replicas.2"]["value"] == "****"
    assert "(env: reference)" in settings["replicas.2"]["origin"]
    assert settings["redis.cache.url"]["value"] == "redis://:****@cache.internal:6380"
    assert settings["redis.queue.prefix"]["value"] == "celery:"
    assert settings["pool_mode"]["value"] == "transaction"
    assert "pw-" not in result.output


def test_run_gives_the_child_the_topology(tmp_path: Path) -> None:
    write(tmp_path, PRODUCTION)
    out = tmp_path / "seen.txt"
    script = (
        "import os, sys; open(sys.argv[1], 'w').write(os.environ['DIRECT_DATABASE_URL']"
        " + ' ' + os.environ['REDIS_CACHE_HOST'])"
    )
    import sys

    result = invoke(
        tmp_path, "run", "production", "--", sys.executable, "-c", script, str(out), env=SECRETS
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == (
        "postgresql+asyncpg://app:pw-prod-9f3@db-primary:5432/shop cache.internal"
    )


BAD = [
    (
        'replicas = ["postgresql://ro@127.0.0.1:5432/shop"]',
        "replica 1 of environment 'p' (dbenv.toml:6) names its primary's server and database",
    ),
    ('pool_mode = "txn"', "must be one of 'session', 'transaction', 'statement'"),
    ("replicaz = []", "unknown key 'replicaz' in [environments.p]"),
    ('replicas = "postgresql://a@b/c"', "'environments.p.replicas'"),
    ('replicas = ["mysql://a@b/c"]', "is not a postgresql:// URL (setting 'replicas.1'"),
    (
        '[environments.p.redis.cache]\nurl = "redis://a"\nhost = "b"',
        "Redis role 'cache' (dbenv.toml:8) must give one of url, host or cluster; it gives"
        " url and host",
    ),
    ('[environments.p.redis.cache]\nhots = "b"', "unknown key 'hots' in [environments.p.redis"),
    (
        "[environments.p.redis.cache]\ndb = 1",
        "Redis role 'cache' (dbenv.toml:6) must give one of url, host or cluster; it gives"
        " none of them",
    ),
    ('redis = "redis://a"', "must be a table of Redis roles"),
    ('[environments.p.redis.cache-1]\nhost = "b"', "a table of roles named with letters"),
    ('[environments.p.redis.cache]\ncluster = "redis://a"', "must be a list of URLs"),
    ('[environments.p.redis.cache]\nhost = "b"\nport = 0', "must be a port from 1 to 65535"),
    ('[environments.p.redis.cache]\nurl = "http://b"', "is not a redis://"),
    (
        'redis_url = "redis://a"\nredis_cluster = ["redis://b"]',
        "environment 'p' gives both redis_url and redis_cluster",
    ),
    ('[export]\nX = "redis_host:cahce"', "X names Redis role 'cahce', which no environment"),
    ('[export]\nX = "replica_url"', "'X' = 'replica_url' is none of"),
    ('[export]\nX = "replica_url:0"', "'X' = 'replica_url:0' is none of"),
]


@pytest.mark.parametrize(("extra", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_topology_configuration_is_exit_2_in_one_sentence(
    tmp_path: Path, extra: str, message: str
) -> None:
    head = '[project]\nname = "s"\n\n[environments.p]\n'
    head += 'database_url = "postgresql://app@localhost:5432/shop"\n'
    top, _, rest = extra.partition("[export]")
    text = head + top + "\n" if not rest else "[export]" + rest + "\n" + head
    write(tmp_path, text)
    result = invoke(tmp_path, "config", "show", "p")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("dbenv: ") and "Traceback" not in result.output
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_flush_of_a_cluster_environment_without_a_prefix_is_refused(tmp_path: Path) -> None:
    # refused before anything connects (the cluster at port 1 is not even there);
    # the flush of a prefixed one is tested against a real cluster in test_redis_cluster.py
    write(
        tmp_path,
        '[project]\nname = "s"\n[environments.test]\ntier = "disposable"\n'
        'database_url = "postgresql://app@localhost:5432/s_test"\n'
        'redis_cluster = ["redis://127.0.0.1:1"]\n',
    )
    result = invoke(tmp_path, "flush", "test")
    assert result.exit_code == 2, result.output
    assert "is a Redis Cluster and it has no redis_prefix; dbenv flushes a cluster only" in (
        result.stderr
    )
