"""What ``dbenv init`` writes: a project file with the five usual environments.

Also the two small file edits init makes (naming the project, extending .gitignore).

The file must load as written (a test checks it), declare local and test as
disposable, put local, development and test on the embedded stack (``dbenv up``),
and keep every password out of it: staging and production take theirs from
secret references.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

GITIGNORE_LINES = (".env*", "!.env.example", ".dbenv/")


ENV_EXAMPLE = """\
# The variables this project needs. Copy to .env (or .env.<environment>) and fill in;
# never commit the copies (dbenv init added them to .gitignore).
APP_ENV=
API_BASE_URL=
STAGING_DB_PASSWORD=
PRODUCTION_DB_PASSWORD=
"""

_TEMPLATE = """\
# dbenv project file: the environments of {name} and their databases.
# Reference: docs/configuration.md. Check it with `dbenv check`.

[project]
name = "{name}"
selectors = ["APP_ENV", "ENVIRONMENT"]  # variables that choose the active environment
default = "development"
env_files = [".env"]

[vars]
LOG_LEVEL = "info"
API_BASE_URL = "http://localhost:8000"

[local]
# `dbenv up` runs PostgreSQL and Redis from this machine's binaries, in .dbenv/
data_dir = ".dbenv"

[environments.local]
tier = "disposable"
server = "local"
database = "{name}_local"
user = "{name}_local"
redis_db = 2
guard_pattern = "local"

[environments.development]
# protected unless said otherwise
server = "local"
database = "{name}_dev"
user = "{name}"
redis_db = 0

[environments.test]
tier = "disposable"
server = "local"
database = "{name}_test"
user = "{name}_test"
redis_db = 1
guard_pattern = "test"
required = ["API_BASE_URL"]
# schema_source = "sqlalchemy:{name}.models:Base.metadata"  # what `dbenv reset test` builds
# seed_files = ["seeds/test.json"]

[environments.staging]
database_url = "postgresql://{name}@staging-db.example.internal:5432/{name}_staging?sslmode=require"
password = "env:STAGING_DB_PASSWORD"

[environments.production]
database_url = "postgresql://{name}@prod-db.example.internal:5432/{name}?sslmode=verify-full"
password = "env:PRODUCTION_DB_PASSWORD"
"""


def project_file(name: str) -> str:
    """The text of a new ``dbenv.toml`` for a project called ``name``."""
    return _TEMPLATE.format(name=name)


def project_name(root: Path) -> str:
    """A project name from the directory name: lower case, word characters only."""
    cleaned = "".join(c if c.isalnum() else "_" for c in root.name.lower()).strip("_")
    return cleaned or "app"


def extend_gitignore(path: Path, lines: Sequence[str]) -> tuple[str, ...]:
    """Append the lines .gitignore lacks (under a comment); return those added."""
    existing = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    present = {line.strip() for line in existing}
    missing = [line for line in lines if line not in present]
    if missing:
        text = "\n".join(existing)
        if text and not text.endswith("\n"):
            text += "\n"
        header = "# dbenv: env files hold credentials; keep them out of git\n"
        path.write_text(text + header + "\n".join(missing) + "\n", encoding="utf-8")
    return tuple(missing)
