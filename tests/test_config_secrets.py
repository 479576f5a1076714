"""Secret references (env:, file:, cmd:) and masking of everything derived from secrets."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from dbenv.config import MASK, Secret, SecretURL
from dbenv.config.masking import is_secret_key, mask_url, mask_value
from dbenv.errors import SecretReferenceError
from fixtures.config.projects import project_at

PLAIN = "s3cr3t-Value-42"


def _project(tmp_path: Path, password: str, *, timeout: float = 10, **kw: object):
    toml = (
        f'[project]\nname = "app"\nsecret_timeout = {timeout}\n'
        "[environments.prod]\n"
        'host = "db.example.com"\nuser = "app"\n'
        f"password = '{password}'\n"
    )
    return project_at(tmp_path, toml, **kw)  # type: ignore[arg-type]


def test_env_reference_resolves_lazily(tmp_path: Path) -> None:
    env = _project(tmp_path, "env:PROD_PW", process={"PROD_PW": PLAIN}).environment("prod")
    assert env.database_url is not None
    assert PLAIN not in str(env.database_url)
    assert env.database_url.masked == "postgresql://app:****@db.example.com:5432/app_prod"
    assert env.database_url.reveal().endswith(f":{PLAIN}@db.example.com:5432/app_prod")
    assert env.settings["password"].origin.reference == "env"


def test_env_reference_unset_fails_on_reveal_only(tmp_path: Path) -> None:
    env = _project(tmp_path, "env:PROD_PW").environment("prod")
    assert env.database_url is not None
    assert "****" in str(env.database_url)
    with pytest.raises(SecretReferenceError) as info:
        env.database_url.reveal()
    message = str(info.value)
    assert "env: reference" in message and "PROD_PW" in message
    assert "dbenv.toml:7" in message
    assert info.value.exit_code == 2


def test_file_reference_relative_to_root(tmp_path: Path) -> None:
    project = _project(tmp_path, "file:secrets/db", files={"secrets/db": PLAIN + "\n"})
    url = project.environment("prod").database_url
    assert url is not None and url.reveal().endswith(f":{PLAIN}@db.example.com:5432/app_prod")


def test_file_reference_missing_file(tmp_path: Path) -> None:
    url = _project(tmp_path, "file:secrets/absent").environment("prod").database_url
    assert url is not None
    with pytest.raises(SecretReferenceError, match=r"file: reference .*dbenv.toml:7.*cannot read"):
        url.reveal()


def test_file_reference_empty_file(tmp_path: Path) -> None:
    url = _project(tmp_path, "file:s", files={"s": "\n"}).environment("prod").database_url
    assert url is not None
    with pytest.raises(SecretReferenceError, match="empty"):
        url.reveal()


def test_cmd_reference_runs_only_on_reveal(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    project = _project(tmp_path, f"cmd:touch {marker} && echo {PLAIN}")
    env = project.environment("prod")
    assert env.database_url is not None
    assert "****" in repr(env.database_url)
    assert not marker.exists()
    again = _project(tmp_path, f"cmd:touch {marker} && echo {PLAIN}").environment("prod")
    assert env != again  # comparing environments resolves nothing (unknown: not equal)
    assert not marker.exists()
    assert env.database_url.reveal().endswith(f":{PLAIN}@db.example.com:5432/app_prod")
    assert marker.exists()


def test_cmd_reference_non_zero_exit(tmp_path: Path) -> None:
    url = _project(tmp_path, f"cmd:echo {PLAIN}; exit 3").environment("prod").database_url
    assert url is not None
    with pytest.raises(SecretReferenceError) as info:
        url.reveal()
    message = str(info.value)
    assert "cmd: reference" in message and "status 3" in message
    assert PLAIN not in message and "echo" not in message


def test_cmd_reference_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    url = _project(tmp_path, "cmd:sleep 30", timeout=0.3).environment("prod").database_url
    assert url is not None
    started = time.monotonic()
    with pytest.raises(SecretReferenceError, match=r"did not finish within 0\.3 s"):
        url.reveal()
    assert time.monotonic() - started < 10


def test_cmd_reference_that_prints_nothing(tmp_path: Path) -> None:
    url = _project(tmp_path, "cmd:true").environment("prod").database_url
    assert url is not None
    with pytest.raises(SecretReferenceError, match="printed nothing"):
        url.reveal()


def test_reference_in_env_file_variable_and_its_origin(tmp_path: Path) -> None:
    toml = '[project]\nname = "app"\n[environments.test]\n'
    files = {".env.test": f"X=1\nAPI_TOKEN=cmd:echo {PLAIN}\n"}
    variable = project_at(tmp_path, toml, files=files).environment("test").variables["API_TOKEN"]
    assert isinstance(variable.value, Secret)
    assert variable.display() == MASK
    assert (variable.origin.source, variable.origin.line, variable.origin.reference) == (
        ".env.test",
        2,
        "cmd",
    )
    assert "(cmd: reference)" in str(variable.origin)
    assert variable.value.reveal() == PLAIN


def test_interpolated_url_from_reference_is_masked_without_resolving(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    toml = (
        '[project]\nname = "app"\n'
        f"[vars]\nDB_PW = 'cmd:touch {marker}; echo {PLAIN}'\n"
        "[environments.test]\n"
        'database_url = "postgresql://app:${DB_PW}@localhost:5432/app_test"\n'
    )
    env = project_at(tmp_path, toml).environment("test")
    assert isinstance(env.database_url, SecretURL)
    assert env.database_url.masked == "postgresql://app:****@localhost:5432/app_test"
    assert not marker.exists()
    parts = env.settings["database_url"].parts
    assert parts[0][0] == "DB_PW" and parts[0][1].reference == "cmd"
    assert env.database_url.reveal() == f"postgresql://app:{PLAIN}@localhost:5432/app_test"


def test_secret_looking_variable_interpolated_into_url_is_masked(tmp_path: Path) -> None:
    toml = (
        '[project]\nname = "app"\n[environments.test]\n'
        'database_url = "postgresql://app:${TEST_DB_PASS}@localhost/app_test"\n'
    )
    env = project_at(tmp_path, toml, files={".env": f"TEST_DB_PASS={PLAIN}\n"}).environment("test")
    assert env.database_url is not None
    assert PLAIN not in env.database_url.masked
    assert PLAIN not in env.settings["database_url"].display()
    assert env.variables["TEST_DB_PASS"].display() == MASK
    assert env.database_url.reveal() == f"postgresql://app:{PLAIN}@localhost/app_test"


def test_secret_never_shows_in_str_repr_format_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret = SecretURL(
        f"postgresql://u:{PLAIN}@h/db", masked=mask_url(f"postgresql://u:{PLAIN}@h/db")
    )
    logging.getLogger("t").warning("url=%s %r", secret, secret)
    shown = [str(secret), repr(secret), f"{secret}", f"{secret:>40}", format(secret)]
    assert all(PLAIN not in text for text in shown)
    assert PLAIN not in caplog.text
    assert "postgresql://u:****@h/db" in caplog.text


def test_masking_functions() -> None:
    assert mask_url(f"redis://:{PLAIN}@cache:6379/2") == "redis://:****@cache:6379/2"
    assert mask_url(f"postgresql://u@h/db?password={PLAIN}") == "postgresql://u@h/db?password=****"
    assert mask_value("DB_PASSWORD", PLAIN) == MASK
    assert mask_value("LOG_LEVEL", "info") == "info"
    assert mask_value("ANYTHING", PLAIN, secret=True) == MASK
    assert is_secret_key("STRIPE_API_KEY") and is_secret_key("JWT_SECRET")
    assert not is_secret_key("KEYBOARD_LAYOUT")


def test_environment_repr_does_not_leak(tmp_path: Path) -> None:
    toml = (
        '[project]\nname = "app"\n[environments.test]\n'
        f'database_url = "postgresql://app:{PLAIN}@localhost/app_test"\n'
    )
    env = project_at(tmp_path, toml, files={".env": f"API_SECRET={PLAIN}\n"}).environment("test")
    assert PLAIN not in repr(env)
    assert all(PLAIN not in s.display() for s in [*env.settings.values(), *env.variables.values()])


def test_exports_reveal_values_and_set_selectors(tmp_path: Path) -> None:
    toml = '[project]\nname = "app"\n[environments.test]\n'
    files = {".env": f"API_TOKEN=cmd:echo {PLAIN}\nAPP_ENV=development\n"}
    exports = project_at(tmp_path, toml, files=files).environment("test").exports()
    assert exports["API_TOKEN"] == PLAIN
    assert exports["APP_ENV"] == "test" and exports["ENVIRONMENT"] == "test"


def test_env_reference_that_leads_back_to_itself(tmp_path: Path) -> None:
    toml = '[project]\nname = "app"\n[environments.test]\n'
    files = {".env": "X=1\nDB_PASSWORD=env:DB_PASSWORD\n"}
    variable = project_at(tmp_path, toml, files=files).environment("test").variables["DB_PASSWORD"]
    assert isinstance(variable.value, Secret)
    with pytest.raises(SecretReferenceError, match=r"\.env:2 refers back to itself"):
        variable.value.reveal()


def test_env_reference_reads_a_process_variable(tmp_path: Path) -> None:
    toml = '[project]\nname = "app"\n[vars]\nAPI_TOKEN = "env:CI_TOKEN"\n[environments.test]\n'
    project = project_at(tmp_path, toml, process={"CI_TOKEN": PLAIN})
    token = project.environment("test").variables["API_TOKEN"]
    assert token.display() == MASK
    assert isinstance(token.value, Secret) and token.value.reveal() == PLAIN


def test_secret_piece_in_a_plain_variable_masks_only_that_piece(tmp_path: Path) -> None:
    toml = '[project]\nname = "app"\n[vars]\nHEADER = "Bearer ${API_TOKEN}"\n[environments.test]\n'
    project = project_at(tmp_path, toml, files={".env": f"API_TOKEN={PLAIN}\n"})
    header = project.environment("test").variables["HEADER"]
    assert header.display() == "Bearer ****"
    assert isinstance(header.value, Secret) and header.value.reveal() == f"Bearer {PLAIN}"


# --- a password key beside a database_url (what `dbenv init` writes) ---------------


def _url_and_password(tmp_path: Path, url: str, password: str, **kw: object):
    toml = (
        '[project]\nname = "app"\n[environments.staging]\n'
        f'database_url = "{url}"\npassword = "{password}"\n'
    )
    return project_at(tmp_path, toml, **kw).environment("staging")  # type: ignore[arg-type]


def test_password_key_completes_a_url_without_one(tmp_path: Path) -> None:
    url = "postgresql://app@db.example.com:5432/app_staging?sslmode=require"
    env = _url_and_password(tmp_path, url, "env:STAGING_PW", process={"STAGING_PW": "p@ss:w/rd"})
    assert env.database_url is not None
    shown = "postgresql://app:****@db.example.com:5432/app_staging?sslmode=require"
    assert str(env.database_url) == shown
    assert env.database_url.reveal() == (
        "postgresql://app:p%40ss%3Aw%2Frd@db.example.com:5432/app_staging?sslmode=require"
    )


def test_password_key_without_a_user_goes_in_the_query(tmp_path: Path) -> None:
    env = _url_and_password(tmp_path, "postgresql://db.example.com/app", PLAIN)
    assert env.database_url is not None
    assert env.database_url.reveal() == f"postgresql://db.example.com/app?password={PLAIN}"
    assert PLAIN not in str(env.database_url)


def test_password_in_both_places_is_a_config_error(tmp_path: Path) -> None:
    from dbenv.errors import ProjectFileError

    with pytest.raises(ProjectFileError) as info:
        _url_and_password(tmp_path, "postgresql://app:inline@db.example.com/app", PLAIN)
    assert "both in database_url" in str(info.value) and "inline" not in str(info.value)
    assert info.value.exit_code == 2


def test_password_in_both_places_behind_a_url_reference_fails_on_reveal(tmp_path: Path) -> None:
    from dbenv.errors import ProjectFileError

    process = {"STAGING_URL": "postgresql://app:inline@db.example.com/app"}
    env = _url_and_password(tmp_path, "env:STAGING_URL", PLAIN, process=process)
    assert env.database_url is not None
    with pytest.raises(ProjectFileError, match="both in database_url"):
        env.database_url.reveal()


def test_unset_required_password_leaves_no_url(tmp_path: Path) -> None:
    toml = (
        '[project]\nname = "app"\n[environments.staging]\nrequired = ["STAGING_PW"]\n'
        'database_url = "postgresql://app@db/app"\npassword = "${STAGING_PW}"\n'
    )
    env = project_at(tmp_path, toml).environment("staging")
    assert env.database_url is None
    assert "STAGING_PW" in (env.settings["database_url"].note or "")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SLACK_WEBHOOK_SECRET", "https://hooks.slack.com/services/T0/B0/abcdEFGHsecret"),
        ("API_TOKEN", "https://api.example.com/?token=abc123"),
        ("DB_PASSWORD", "postgresql://u:pw@h/db"),
    ],
)
def test_secret_named_key_hides_a_url_value_whole(key: str, value: str) -> None:
    assert mask_value(key, value) == MASK


def test_plain_key_with_a_url_loses_only_the_password() -> None:
    shown = mask_value("CACHE_URL", "redis://:pw@cache:6379/1")
    assert shown == "redis://:****@cache:6379/1"
