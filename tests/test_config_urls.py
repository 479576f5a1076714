"""URLs: validation (masked errors), targets for same-database comparison, local stack URLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbenv.config.urls import Place, target_of, url_from_parts
from dbenv.errors import ConfigError, InvalidURL
from fixtures.config.projects import project_at

PLAIN = "hunter2-secret"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("postgresql://u@localhost/app", "postgres://other@127.0.0.1:5432/app"),
        ("postgresql://u:pw@[::1]:5432/app", "postgresql+psycopg://u@localhost/app"),
        ("postgresql://u@/app?host=/tmp&port=5433", "postgresql://x@/app?port=5433&host=/tmp"),
        ("redis://localhost/1", "redis://127.0.0.1:6379?db=1"),
    ],
)
def test_same_target(a: str, b: str) -> None:
    assert target_of(a).same_database(target_of(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("postgresql://u@localhost/app", "postgresql://u@localhost/app_test"),
        ("postgresql://u@localhost/app", "postgresql://u@localhost:5433/app"),
        ("postgresql://u@db1/app", "postgresql://u@db2/app"),
        ("redis://localhost/0", "redis://localhost/1"),
    ],
)
def test_different_target(a: str, b: str) -> None:
    assert not target_of(a).same_database(target_of(b))


def test_target_fields() -> None:
    target = target_of(f"postgresql://app:{PLAIN}@DB.Example.com:6432/app?sslmode=require")
    assert target == Place("db.example.com", 6432, "app", "app", {"sslmode": "require"})
    assert str(target) == "db.example.com:6432/app"
    assert target_of("postgresql://app@localhost").database == "app"
    assert target_of("unix:///run/redis.sock?db=3").database == "3"


def test_masked_url_has_the_same_target() -> None:
    url = f"postgresql://app:{PLAIN}@db:5432/app"
    assert target_of(url) == target_of("postgresql://app:****@db:5432/app")


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://app:{PLAIN}@db/app",
        f"postgresql://app:{PLAIN}@db:port/app",
        f"postgresql://app:{PLAIN}@db:99999/app",
        "not a url",
    ],
)
def test_invalid_database_urls_are_masked(tmp_path: Path, url: str) -> None:
    toml = f"[project]\nname = 'a'\n[environments.test]\ndatabase_url = '{url}'\n"
    with pytest.raises(InvalidURL) as info:
        project_at(tmp_path, toml).environment("test")
    assert PLAIN not in str(info.value)
    assert info.value.line == 4
    assert info.value.exit_code == 2


@pytest.mark.parametrize("url", ["http://cache:6379", "redis://cache:x/1", "redis://cache/one"])
def test_invalid_redis_urls(tmp_path: Path, url: str) -> None:
    toml = f"[project]\nname = 'a'\n[environments.test]\nredis_url = '{url}'\n"
    with pytest.raises(InvalidURL, match="Redis"):
        project_at(tmp_path, toml).environment("test")


def test_valid_redis_urls(tmp_path: Path) -> None:
    toml = (
        "[project]\nname = 'a'\n"
        "[environments.a]\nredis_url = 'rediss://:pw@cache:6380/2'\nredis_db = 2\n"
        "[environments.b]\nredis_url = 'unix:///run/redis.sock'\n"
    )
    project = project_at(tmp_path, toml)
    assert str(project.environment("a").redis_url) == "rediss://:****@cache:6380/2"
    assert project.environment("a").redis_db == 2
    assert project.environment("b").redis_url is not None


def test_url_from_parts_quotes_and_brackets_ipv6() -> None:
    url = url_from_parts(host="::1", port=5432, database="a b", user="u", password="p:w")
    assert url == "postgresql://u:p%3Aw@[::1]:5432/a%20b"
    assert target_of(url).host == "localhost"


LOCAL = """
[project]
name = "Dash-Tam"
[local]
data_dir = ".dbenv"
[environments.test]
server = "local"
tier = "disposable"
[environments.dev]
server = "local"
database = "custom_dev"
user = "devuser"
"""


def _state(root: Path, redis: dict[str, int] | None) -> None:
    state = {
        "postgres": {"port": 54321, "socket_dir": str(root / ".dbenv" / "run"), "superuser": "su"},
        "redis": redis,
    }
    (root / ".dbenv").mkdir(parents=True)
    (root / ".dbenv" / "state.json").write_text(json.dumps(state))


def test_local_server_without_state_has_no_url(tmp_path: Path) -> None:
    env = project_at(tmp_path, LOCAL).environment("test")
    assert env.database_url is None
    assert env.server == "local"
    setting = env.settings["database_url"]
    assert "local stack not running (dbenv up)" in str(setting.origin)
    assert setting.note == "local stack not running (dbenv up)"


def test_local_server_with_state(tmp_path: Path) -> None:
    _state(tmp_path, {"port": 63790})
    project = project_at(tmp_path, LOCAL)
    test = project.environment("test")
    socket = tmp_path / ".dbenv" / "run"
    assert test.database_url is not None
    # the role's generated password (0600 in .dbenv/passwords) rides along
    kept = tmp_path / ".dbenv" / "passwords" / "dash_tam_test"
    assert not kept.exists()  # generated when first needed, not when listed
    plain = test.database_url.reveal()
    password = kept.read_text().strip()
    assert len(password) >= 24
    assert plain == (
        f"postgresql://dash_tam_test:{password}@/dash_tam_test?host={socket}&port=54321"
    )
    assert kept.stat().st_mode & 0o777 == 0o600
    assert test.database_url.masked.startswith("postgresql://dash_tam_test:****@/")
    assert target_of(test.database_url.reveal()) == Place(
        str(socket), 54321, "dash_tam_test", "dash_tam_test", {}
    )
    assert str(test.redis_url) == "redis://127.0.0.1:63790"
    assert test.admin_url is not None and "su@/postgres" in test.admin_url.reveal()
    assert test.settings["database_url"].origin.source == ".dbenv/state.json"
    dev = project.environment("dev")
    assert dev.database_url is not None
    assert dev.database_url.reveal().startswith("postgresql://devuser:")


def test_local_server_without_redis(tmp_path: Path) -> None:
    _state(tmp_path, None)
    assert project_at(tmp_path, LOCAL).environment("test").redis_url is None


def test_local_state_file_corrupt(tmp_path: Path) -> None:
    (tmp_path / ".dbenv").mkdir()
    (tmp_path / ".dbenv" / "state.json").write_text("{not json")
    with pytest.raises(ConfigError, match="state file"):
        project_at(tmp_path, LOCAL).environment("test")


def test_url_from_a_reference_is_validated_on_reveal(tmp_path: Path) -> None:
    toml = (
        "[project]\nname = 'a'\n[environments.test]\n"
        f"database_url = 'cmd:echo mysql://app:{PLAIN}@db/app'\n"
        "[environments.ok]\n"
        f"database_url = 'cmd:echo postgresql://app:{PLAIN}@db/app'\n"
    )
    project = project_at(tmp_path, toml)
    url = project.environment("test").database_url
    assert url is not None and url.masked == "****"
    with pytest.raises(InvalidURL) as info:
        url.reveal()
    assert PLAIN not in str(info.value) and "mysql://app:****@db/app" in str(info.value)
    ok = project.environment("ok").database_url
    assert ok is not None and ok.reveal() == f"postgresql://app:{PLAIN}@db/app"


def test_templated_port_is_coerced_and_checked(tmp_path: Path) -> None:
    toml = "[project]\nname = 'a'\n[environments.test]\nhost = 'db'\nport = '${PG_PORT}'\n"
    env = project_at(tmp_path, toml, process={"PG_PORT": "6543"}).environment("test")
    assert env.settings["port"].value == 6543
    with pytest.raises(ConfigError, match="must be an integer") as info:
        project_at(tmp_path, toml, process={"PG_PORT": "sixty"}).environment("test")
    assert info.value.line == 5
