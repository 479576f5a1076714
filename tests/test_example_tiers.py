"""examples/tiers (seed 004): five tiers, poolers, replicas, a Redis Cluster, Infisical/K8s secrets.

As shipped: the project loads with each tier's shape; ``dbenv config show`` masks
every secret reference and runs none; ``dbenv check --offline`` finds exactly
development's Redis without TLS. ``dbenv run`` exports each tier's URLs and Celery
variables, its secrets given as a pod gets them (variables from the Infisical
operator's Kubernetes secrets) or from the secret CLIs on a laptop (``infisical``,
``az``: stand-ins on PATH, a process edge). ``dbenv status --json`` of staging —
pointed at the suite's real replica pair, a PgBouncer in front of its primary and
Redis — shows every part reachable; production's secrets are not on this machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbenv.config import load_project
from lifecycle_support import create_database, drop_database, unique
from node_support import clean_env
from pgbouncer_support import PgBouncer, start_pgbouncer
from replica_support import ReplicaPair

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tiers"
DBENV = str(Path(sys.executable).parent / "dbenv")
CELERY = {  # seed 004's table: workers, task retention (days)
    "local": ("1", "1"),
    "development": ("2", "3"),
    "staging": ("3", "7"),
    "pre-production": ("5", "30"),
    "production": ("5", "30"),
}
CANARY = "k8s-canary-7d1f"  # every secret's value: it must never be printed


def run_dbenv(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DBENV, "--project", str(EXAMPLE), *args],
        cwd=EXAMPLE,
        env=clean_env(**extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def secret_clis(tmp_path: Path) -> str:
    """``infisical`` and ``az`` stand-ins printing the canary; the PATH that finds them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("infisical", "az"):
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\necho {CANARY}-{name}\n")
        tool.chmod(0o755)
    return f"{bin_dir}:{clean_env()['PATH']}"


def exported(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert done.returncode == 0, done.stdout + done.stderr
    values: dict[str, str] = json.loads(done.stdout)
    return values


PRINT_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


def test_the_five_tiers_load_with_their_shapes(tmp_path: Path) -> None:
    # a copy without .dbenv: a stack running in the example would give local its
    # pooler and replica ([local] replica/pooler; examples/tiers/demo shows them)
    root = tmp_path / "tiers"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".dbenv"))
    project = load_project(project=root, process_env={})
    assert list(project.environment_names) == list(CELERY)
    shapes = {}
    for name in CELERY:
        env = project.environment(name)
        workers = env.variables["CELERY_WORKERS"].value
        retention = env.variables["TASK_RETENTION_DAYS"].value
        assert (workers, retention) == CELERY[name]
        shapes[name] = (env.tier, bool(env.pooler_url), len(env.replicas), len(env.redis_cluster))
    assert shapes == {
        "local": ("disposable", False, 0, 0),
        "development": ("protected", True, 0, 0),
        "staging": ("protected", True, 1, 0),
        "pre-production": ("protected", True, 2, 3),
        "production": ("protected", True, 2, 3),
    }


def test_config_show_masks_every_reference_and_runs_none(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("infisical", "az"):  # they must not run: they would leave a mark
        (bin_dir / name).write_text(f"#!/bin/sh\ntouch {ran}\necho {CANARY}\n")
        (bin_dir / name).chmod(0o755)
    path = f"{bin_dir}:{clean_env()['PATH']}"
    for name in ("development", "production", "pre-production"):
        done = run_dbenv("config", "show", name, "--origin", PATH=path, DEV_DB_PASSWORD=CANARY)
        assert done.returncode == 0, done.stderr
        assert CANARY not in done.stdout + done.stderr
        assert "postgresql://tiers:****@pgbouncer." in done.stdout
    assert "cmd: reference" in done.stdout or "file: reference" in done.stdout
    assert not ran.exists()


def test_check_finds_developments_plain_redis_only() -> None:
    done = run_dbenv("check", "--offline", "--json")
    report = json.loads(done.stdout)
    found = [(f["severity"], f["rule"], f["environment"]) for f in report["findings"]]
    assert found == [("warning", "no-tls", "development")]
    assert report["environments"] == list(CELERY)


def test_run_exports_each_tiers_urls_and_celery_settings(secret_clis: str) -> None:
    pod = {  # what the Infisical operator's Kubernetes secrets put in a pod's environment
        "DEV_DATABASE_DIRECT_URL": "postgresql://tiers@db.dev.tiers.internal:5432/tiers_dev",
        "DEV_DB_PASSWORD": CANARY,
        "STAGING_DATABASE_DIRECT_URL": "postgresql://tiers@db.staging.tiers.internal/tiers",
        "STAGING_DATABASE_REPLICA_URL": "postgresql://tiers@db-replica.staging.tiers.internal/tiers",
        "STAGING_DB_PASSWORD": CANARY,
    }
    dev = exported(run_dbenv("run", "development", "--", *PRINT_ENV, PATH=secret_clis, **pod))
    assert dev["DATABASE_URL"].startswith(f"postgresql://tiers:{CANARY}@pgbouncer.dev.")
    assert dev["DIRECT_DATABASE_URL"] == pod["DEV_DATABASE_DIRECT_URL"]
    assert dev["REDIS_URL"] == f"redis://:{CANARY}-infisical@redis.dev.tiers.internal:6379/0"
    assert (dev["CELERY_WORKERS"], dev["TASK_RETENTION_DAYS"], dev["ENVIRONMENT"]) == (
        "2",
        "3",
        "development",
    )
    assert "DATABASE_REPLICA_URLS" not in dev
    staging = exported(run_dbenv("run", "staging", "--", *PRINT_ENV, PATH=secret_clis, **pod))
    assert staging["DATABASE_REPLICA_URLS"] == pod["STAGING_DATABASE_REPLICA_URL"]
    assert staging["DATABASE_URL"].startswith(f"postgresql://tiers:{CANARY}@pgbouncer.staging.")
    assert staging["CELERY_WORKERS"] == "3"
    prod = exported(run_dbenv("run", "production", "--", *PRINT_ENV, PATH=secret_clis))
    password = f"{CANARY}-az"  # Azure Key Vault, through `az keyvault secret show`
    assert prod["DATABASE_URL"].startswith(f"postgresql://tiers:{password}@pgbouncer.prod.")
    assert prod["DIRECT_DATABASE_URL"].startswith(f"postgresql://tiers:{password}@db.prod.")
    replicas = prod["DATABASE_REPLICA_URLS"].split(",")
    assert [r.split("@")[1].split(".")[0] for r in replicas] == ["db-replica-1", "db-replica-2"]
    assert prod["REDIS_URL"].startswith("rediss://redis-0.prod.tiers.internal:6379")
    assert len(prod["REDIS_CLUSTER_URLS"].split(",")) == 3
    assert (prod["CELERY_WORKERS"], prod["TASK_RETENTION_DAYS"]) == ("5", "30")


def test_run_without_the_mounted_secret_is_one_sentence() -> None:
    done = run_dbenv("run", "pre-production", "--", *PRINT_ENV)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot read /var/run/secrets/tiers/db-password" in done.stderr
    assert "Traceback" not in done.stderr and not done.stdout
    given = exported(  # the pod's mount, as a variable: what the pod would have read
        run_dbenv("run", "pre-production", "--", *PRINT_ENV, DB_PASSWORD=CANARY)
    )
    assert given["DATABASE_URL"].startswith(f"postgresql://tiers:{CANARY}@pgbouncer.preprod.")


@pytest.fixture
def staging_here(replica_pair: ReplicaPair, redis_server: Any) -> Iterator[dict[str, str]]:
    """Staging's parts on this machine: the pair's primary and standby, a PgBouncer, Redis."""
    name = unique("tiers_staging")
    create_database(replica_pair.primary.dsn, name)
    replica_pair.wait_replayed()
    # searchable: as root, PgBouncer runs as the servers' unprivileged user
    directory = Path(tempfile.mkdtemp(prefix="dbenv-test-tiers-"))
    directory.chmod(0o755)
    bouncer: PgBouncer = start_pgbouncer(replica_pair.primary, directory)
    try:
        yield {
            "STAGING_DATABASE_DIRECT_URL": replica_pair.primary.dsn_for(name),
            "STAGING_DATABASE_REPLICA_URL": replica_pair.standby.dsn_for(name),
            "DBENV_STAGING_POOLER_URL": bouncer.dsn_for(name),
            "DBENV_STAGING_REDIS_URL": redis_server.url,
        }
    finally:
        bouncer.stop()
        shutil.rmtree(directory, ignore_errors=True)
        drop_database(replica_pair.primary.dsn, name)


def test_status_json_of_staging_here_and_production_elsewhere(
    staging_here: dict[str, str], secret_clis: str
) -> None:
    done = run_dbenv("status", "staging", "--json", **staging_here)
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["environments"]
    assert row["reachable"] is True and row["redis"]["reachable"] is True
    topology = row["topology"]
    assert topology["primary"]["reachable"] is True
    pooler = topology["pooler"]
    assert pooler["reachable"] and pooler["leads_to_primary"] is True
    assert (pooler["pool_mode"], pooler["pool_mode_from"]) == ("transaction", "console")
    (replica,) = topology["replicas"]
    assert replica["in_recovery"] is True and replica["same_system_as_primary"] is True
    assert replica["lag_seconds"] is not None and replica["lag_bytes"] is not None
    read = run_dbenv("status", "staging", "--replica", "--json", **staging_here)
    (row,) = json.loads(read.stdout)["environments"]
    assert row["replica_read"]["number"] == 1 and row["replica_read"]["max_lag_seconds"] == 10
    # production's password is in Azure Key Vault: without `az`, its row says why
    away = run_dbenv("status", "production", "--json")
    (row,) = json.loads(away.stdout)["environments"]
    assert row["reachable"] is False and "cmd: reference" in row["error"]
    assert CANARY not in away.stdout
