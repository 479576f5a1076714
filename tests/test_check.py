"""The doctor: every rule with a fixture project that triggers it and one that does not."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from dbenv.commands.config import check
from dbenv.config import load_project
from dbenv.doctor.check import CheckReport, Finding
from dbenv.errors import UnknownEnvironment, UsageError

FIXTURES = Path(__file__).parent / "fixtures"
SEED_003 = FIXTURES / "seed_003_database_architecture.md"


def project_at(root: Path, toml: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbenv.toml").write_text(textwrap.dedent(toml))
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def run_check(root: Path, *names: str, scan: list[Path] | None = None) -> CheckReport:
    project = load_project(project=root, process_env={})
    return check(project, list(names), scan=scan or [])


def rule(report: CheckReport, rule_id: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule_id]


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def git_init(root: Path) -> None:
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.org")
    git(root, "config", "user.name", "t")


# --- missing variables --------------------------------------------------------------

REQUIRED = """
[project]
name = "app"
default = "test"
[environments.test]
tier = "disposable"
database_url = "postgresql://app@localhost/app_test"
required = ["API_KEY_ID", "BROKER_HOST", "CALLBACK_PORT"]
"""


def test_missing_variables_all_listed_in_one_finding(tmp_path: Path) -> None:
    report = run_check(project_at(tmp_path, REQUIRED, {".env.test": "BROKER_HOST=mq\n"}), "test")
    (finding,) = rule(report, "missing-variables")
    assert finding.severity == "error"
    assert finding.environment == "test"
    assert "API_KEY_ID, CALLBACK_PORT" in finding.message
    assert "BROKER_HOST" not in finding.message


def test_missing_variables_clean_when_all_set(tmp_path: Path) -> None:
    env = "API_KEY_ID=1\nBROKER_HOST=mq\nCALLBACK_PORT=8182\n"
    report = run_check(project_at(tmp_path, REQUIRED, {".env.test": env}), "test")
    assert rule(report, "missing-variables") == []


def test_missing_variables_of_an_inactive_environment_only_warn(tmp_path: Path) -> None:
    toml = REQUIRED.replace('default = "test"', 'default = "dev"') + (
        '[environments.dev]\ndatabase_url = "postgresql://app@localhost/app_dev"\n'
    )
    report = run_check(project_at(tmp_path, toml))
    (finding,) = rule(report, "missing-variables")
    assert finding.severity == "warning"


# --- shared database (seed 003) -----------------------------------------------------

SEED_003_PROJECT = """
[project]
name = "heliotrope"
default = "development"
[environments.development]
database_url = "postgresql://devuser@heliotrope-development.rds.amazonaws.com:5432/heliotrope_dev?sslmode=require"
[environments.staging]
database_url = "postgresql://dbmasteruser@ls-3a6b.us-west-2.rds.amazonaws.com:5432/postgres?sslmode=require"
{staging_extra}
[environments.production]
database_url = "postgresql://dbmasteruser@LS-3A6B.us-west-2.rds.amazonaws.com/postgres?sslmode=require"
"""


def test_staging_sharing_production_database_is_an_error(tmp_path: Path) -> None:
    root = project_at(tmp_path, SEED_003_PROJECT.format(staging_extra=""))
    (finding,) = rule(run_check(root), "shared-database")
    assert finding.severity == "error"
    assert "'staging' and 'production'" in finding.message
    assert "shares_with" in finding.fix


def test_declared_shares_with_is_accepted(tmp_path: Path) -> None:
    toml = SEED_003_PROJECT.format(staging_extra='shares_with = ["production"]')
    assert rule(run_check(project_at(tmp_path, toml)), "shared-database") == []


def test_separate_databases_and_prefixes_are_not_shared(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "app"
    default = "production"
    [environments.production]
    database_url = "postgresql://app@localhost/app"
    [environments.test]
    tier = "disposable"
    isolation = "prefix"
    prefix = "test_"
    database_url = "postgresql://app@127.0.0.1:5432/app"
    [environments.staging]
    database_url = "postgresql://app@localhost/app_staging"
    """
    assert rule(run_check(project_at(tmp_path, toml)), "shared-database") == []


@pytest.mark.parametrize(("database", "shared"), [("app_dev", True), ("app_test", False)])
def test_local_stack_environments_are_compared_before_up(
    tmp_path: Path, database: str, shared: bool
) -> None:
    toml = f"""
    [project]
    name = "app"
    default = "development"
    [environments.development]
    server = "local"
    database = "app_dev"
    [environments.test]
    server = "local"
    tier = "disposable"
    database = "{database}"
    """
    findings = rule(run_check(project_at(tmp_path, toml)), "shared-database")
    assert not (tmp_path / ".dbenv").exists()  # the stack was never started
    if shared:
        (finding,) = findings
        assert finding.severity == "error" and "local stack/app_dev" in finding.message
    else:
        assert findings == []


def test_two_disposable_environments_on_one_database_warn(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "app"
    default = "test"
    [environments.test]
    tier = "disposable"
    database_url = "postgresql://app@localhost/app_test"
    [environments.ci]
    tier = "disposable"
    database_url = "postgresql://ci@127.0.0.1:5432/app_test"
    """
    (finding,) = rule(run_check(project_at(tmp_path, toml)), "shared-database")
    assert finding.severity == "warning"


# --- TLS ----------------------------------------------------------------------------

TLS_PROJECT = """
[project]
name = "app"
default = "production"
[environments.production]
database_url = "postgresql://app@db.example.com:5432/app{query}"
redis_url = "{redis}://cache.example.com:6379"
"""


def test_protected_remote_without_tls_warns(tmp_path: Path) -> None:
    root = project_at(tmp_path, TLS_PROJECT.format(query="?sslmode=prefer", redis="redis"))
    findings = rule(run_check(root), "no-tls")
    assert [f.severity for f in findings] == ["warning", "warning"]
    assert "sslmode=prefer" in findings[0].message
    assert "rediss://" in findings[1].fix


def test_protected_remote_with_tls_is_clean(tmp_path: Path) -> None:
    root = project_at(tmp_path, TLS_PROJECT.format(query="?sslmode=verify-full", redis="rediss"))
    assert rule(run_check(root), "no-tls") == []


def test_localhost_and_disposable_are_exempt_from_tls(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "app"
    default = "development"
    [environments.development]
    database_url = "postgresql://app@localhost/app_dev"
    [environments.preview]
    tier = "disposable"
    database_url = "postgresql://app@preview.example.com/app_preview"
    """
    assert rule(run_check(project_at(tmp_path, toml)), "no-tls") == []


# --- components (seed 000) ----------------------------------------------------------

COMPONENTS = """
[project]
name = "app"
default = "test"
[environments.test]
tier = "disposable"
isolation = "prefix"
prefix = "test_"
database_url = "postgresql://app@localhost/app"
components = { backend = "backend/.env", frontend = "frontend/.env" }
[environments.production]
database_url = "postgresql://app@localhost/app"
"""


def test_components_selecting_different_environments_is_an_error(tmp_path: Path) -> None:
    files = {"backend/.env": "APP_ENV=production\n", "frontend/.env": "APP_ENV=test\n"}
    (finding,) = rule(run_check(project_at(tmp_path, COMPONENTS, files)), "components-disagree")
    assert finding.severity == "error"
    assert "'backend'" in finding.message and "'production'" in finding.message
    assert (finding.path, finding.line) == ("backend/.env", 1)


def test_components_on_different_databases_is_an_error(tmp_path: Path) -> None:
    files = {
        "backend/.env": "APP_ENV=test\nDATABASE_URL=postgresql://a:pw1@db1.internal/app\n",
        "frontend/.env": "ENVIRONMENT=test\nDATABASE_URL=postgresql://a:pw1@db2.internal/app\n",
    }
    (finding,) = rule(run_check(project_at(tmp_path, COMPONENTS, files)), "components-disagree")
    assert "different databases" in finding.message
    assert "pw1" not in finding.message


@pytest.mark.parametrize(
    ("backend", "frontend"),
    [
        (  # seed 001's style: the URL assembled from the file's own variables
            "POSTGRES_DB=app\nPOSTGRES_PASSWORD=pw1\n"
            "DATABASE_URL=postgresql+asyncpg://a:${POSTGRES_PASSWORD}@db1.internal/${POSTGRES_DB}\n",
            "DB_URL=postgresql://a:pw1@db2.internal/app\n",
        ),
        ("POSTGRES_HOST=db1.internal\nPOSTGRES_DB=app\n", "DB_HOST=db1.internal\nDB_NAME=app2\n"),
    ],
)
def test_components_on_different_databases_by_other_names(
    tmp_path: Path, backend: str, frontend: str
) -> None:
    files = {
        "backend/.env": "APP_ENV=test\n" + backend,
        "frontend/.env": "APP_ENV=test\n" + frontend,
    }
    (finding,) = rule(run_check(project_at(tmp_path, COMPONENTS, files)), "components-disagree")
    assert "different databases" in finding.message and "pw1" not in finding.message


def test_component_database_url_forms() -> None:
    from dbenv.doctor.check import component_database_url

    assert component_database_url({"LOG": "x"}) is None
    assert component_database_url({"PGHOST": "h", "PGDATABASE": "d", "PGPORT": "6"}) == (
        "postgresql://h:6/d"
    )
    values = {"U": "u", "DATABASE_URL": "postgresql://${U}@h/${D:-fallback}"}
    assert component_database_url(values) == "postgresql://u@h/fallback"


def test_components_that_agree_are_clean(tmp_path: Path) -> None:
    files = {"backend/.env": "APP_ENV=test\n", "frontend/.env": "ENVIRONMENT=test\n"}
    assert rule(run_check(project_at(tmp_path, COMPONENTS, files)), "components-disagree") == []


def test_component_without_env_file_warns(tmp_path: Path) -> None:
    files = {"backend/.env": "APP_ENV=test\n"}
    (finding,) = rule(run_check(project_at(tmp_path, COMPONENTS, files)), "components-disagree")
    assert finding.severity == "warning" and "frontend/.env" in finding.message


# --- env files and git --------------------------------------------------------------

PLAIN = """
[project]
name = "app"
default = "test"
[environments.test]
tier = "disposable"
database_url = "postgresql://app@localhost/app_test"
"""


def test_tracked_env_file_is_an_error(tmp_path: Path) -> None:
    root = project_at(tmp_path, PLAIN, {".env": "LOG_LEVEL=debug\n", ".env.example": "X=\n"})
    git_init(root)
    git(root, "add", "dbenv.toml", ".env", ".env.example")
    report = run_check(root)
    (finding,) = rule(report, "env-file-tracked")
    assert finding.path == ".env" and "git rm --cached .env" in finding.fix


def test_env_file_not_ignored_warns_and_ignored_is_clean(tmp_path: Path) -> None:
    root = project_at(tmp_path, PLAIN, {".env.test": "LOG_LEVEL=debug\n"})
    git_init(root)
    (finding,) = rule(run_check(root), "env-file-not-ignored")
    assert finding.path == ".env.test" and finding.severity == "warning"
    (root / ".gitignore").write_text(".env*\n!.env.example\n")
    report = run_check(root)
    assert rule(report, "env-file-not-ignored") == rule(report, "env-file-tracked") == []


def test_outside_git_the_git_rules_are_skipped_with_a_note(tmp_path: Path) -> None:
    report = run_check(project_at(tmp_path, PLAIN, {".env": "A=1\n"}))
    assert rule(report, "env-file-tracked") == rule(report, "env-file-not-ignored") == []
    assert any("not in a git work tree" in note for note in report.notes)


# --- credentials in files (seed 003) ------------------------------------------------


def test_seed_003_tracked_in_git_is_flagged_masked(tmp_path: Path) -> None:
    root = project_at(tmp_path, PLAIN)
    shutil.copy(SEED_003, root / "DATABASE.md")
    git_init(root)
    git(root, "add", "dbenv.toml", "DATABASE.md")
    findings = rule(run_check(root), "credential-in-file")
    assert [(f.path, f.line) for f in findings][:2] == [("DATABASE.md", 46), ("DATABASE.md", 53)]
    assert len(findings) == 6
    assert all(f.severity == "error" for f in findings)
    assert all("HeliotropeDev2025" not in f.message for f in findings)
    assert "DATABASE.md:46" in findings[0].message


def test_untracked_leaks_are_not_scanned_by_default(tmp_path: Path) -> None:
    root = project_at(tmp_path, PLAIN)
    shutil.copy(SEED_003, root / "DATABASE.md")
    git_init(root)
    assert rule(run_check(root), "credential-in-file") == []


def test_scan_option_scans_paths_outside_git(tmp_path: Path) -> None:
    root = project_at(tmp_path / "p", PLAIN)
    report = run_check(root, scan=[SEED_003])
    assert len(rule(report, "credential-in-file")) == 6
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "README.md").write_text("DB_PASSWORD=changeme\nDATABASE_URL=${DATABASE_URL}\n")
    assert rule(run_check(root, scan=[clean]), "credential-in-file") == []


def test_localhost_url_password_is_only_a_warning(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "dev.md").write_text("postgresql://dev:devpass1@localhost:5432/app_dev\n")
    report = run_check(project_at(tmp_path / "p", PLAIN), scan=[docs])
    (finding,) = rule(report, "credential-in-file")
    assert finding.severity == "warning"


# --- bad input and unresolvable environments ----------------------------------------


def test_unknown_environment_name_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UnknownEnvironment):
        run_check(project_at(tmp_path, PLAIN), "tset")


def test_missing_scan_path_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        run_check(project_at(tmp_path, PLAIN), scan=[tmp_path / "nope"])


def test_unresolvable_environment_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    toml = PLAIN + '[environments.staging]\ndatabase_url = "postgresql://a@${STAGING_HOST}/s"\n'
    report = run_check(project_at(tmp_path, toml))
    (finding,) = rule(report, "unresolvable")
    assert finding.environment == "staging" and "STAGING_HOST" in finding.message


def test_clean_project_has_no_findings(tmp_path: Path) -> None:
    root = project_at(tmp_path, PLAIN, {".gitignore": ".env*\n!.env.example\n"})
    git_init(root)
    git(root, "add", "dbenv.toml", ".gitignore")
    report = run_check(root)
    assert report.findings == ()
    assert report.files_scanned == 2


def test_the_dashtam_example_has_no_errors(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "dashtam"
    root = tmp_path / "dashtam"
    shutil.copytree(example, root, ignore=shutil.ignore_patterns(".env", ".env.*", ".dbenv"))
    subprocess.run([str(root / "prepare-demo")], check=True, capture_output=True)
    report = run_check(root, scan=[root])
    assert report.errors == (), [f.message for f in report.errors]
    assert {f.environment for f in report.warnings} <= {"staging", "production"}


def _dashtam(tmp_path: Path) -> Path:
    example = Path(__file__).resolve().parent.parent / "examples" / "dashtam"
    root = tmp_path / "dashtam"
    shutil.copytree(example, root, ignore=shutil.ignore_patterns(".env", ".env.*", ".dbenv"))
    subprocess.run([str(root / "prepare-demo")], check=True, capture_output=True)
    return root


def test_check_env_runs_every_rule_that_concerns_env(tmp_path: Path) -> None:
    root = _dashtam(tmp_path)
    named = run_check(root, "staging")
    assert {(f.rule, f.environment) for f in named.findings} == {("missing-variables", "staging")}
    assert named.environments == ("staging",)
    tested = run_check(root, "test")
    assert all(f.environment in (None, "test") for f in tested.findings)


def test_bare_check_covers_every_environment_with_one_selected(tmp_path: Path) -> None:
    root = _dashtam(tmp_path)
    project = load_project(project=root, process_env={"APP_ENV": "test"})
    report = check(project)
    assert report.environments == ("local", "development", "test", "staging", "production")
    assert {f.environment for f in report.warnings} == {"staging", "production"}


SEED_003_HOSTS = """
[project]
name = "heliotrope"
default = "development"
[environments.development]
tier = "disposable"
database_url = "postgresql://devuser@heliotrope-development.cvue4a2gwocx.us-west-2.rds.amazonaws.com/heliotrope_dev?sslmode=require"
[environments.staging]
database_url = "postgresql://dbmasteruser@ls-3a6b051cdbc2d5e1ea4c550eb3e0cc5aef8be307.cvue4a2gwocx.us-west-2.rds.amazonaws.com/postgres?sslmode=require"
[environments.production]
database_url = "postgresql://dbmasteruser@ls-3a6b051cdbc2d5e1ea4c550eb3e0cc5aef8be307.cvue4a2gwocx.us-west-2.rds.amazonaws.com/postgres?sslmode=require"
"""


def test_seed_003_as_a_project_names_the_environments_its_passwords_open(
    tmp_path: Path,
) -> None:
    root = project_at(tmp_path, SEED_003_HOSTS)
    shutil.copy(SEED_003, root / "DATABASE.md")
    git_init(root)
    git(root, "add", "dbenv.toml", "DATABASE.md")
    report = run_check(root)
    (shared,) = rule(report, "shared-database")
    assert shared.severity == "error" and "'staging' and 'production'" in shared.message
    leaks = {f.line: f for f in rule(report, "credential-in-file")}
    for line in (53, 60, 76, 83):  # the staging/production URLs, some cut short (ls-3a6b051...)
        assert leaks[line].severity == "error"
        assert "the host of protected environments 'staging', 'production'" in leaks[line].message
    assert leaks[46].severity == "warning"  # development's host, abbreviated
    assert "disposable environment 'development'" in leaks[46].message
    assert all("HeliotropeDev2025" not in f.message for f in report.findings)
