"""``alembic upgrade head`` into the database dbenv is building, in a process of its own.

``python -m dbenv.sources.migrate_child ALEMBIC_INI``, started by ``dbenv.sources.migrations`` with
the environment's variables set and every database variable naming the database
being built. A fresh interpreter is what makes an ``env.py`` that reads the app's
settings land there: settings cached at import (``lru_cache``, a module-level
``settings = Settings()``, an engine made at import) in the calling process —
the pytest plugin's, after the app's conftest ran — would name the live database.

The URL comes in ``DBENV_MIGRATE_URL`` (never on the command line, where ``ps``
shows it). As for ``alembic upgrade head`` run by hand, ``sys.argv`` says
``upgrade`` (an ``env.py`` that seeds only then still seeds), the ini's directory
and the project root are importable, and ``sqlalchemy.url`` is the database being
built; an ``env.py`` that takes ``config.attributes["connection"]`` gets a
connection to it. On failure: one line on stderr, exit 1.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

URL = "DBENV_MIGRATE_URL"
OPTIONS = "DBENV_MIGRATE_OPTIONS"  # libpq options (the schema's search_path)
ROOT = "DBENV_MIGRATE_ROOT"
APPLICATION = "DBENV_MIGRATE_APPLICATION"
FAILED = "dbenv-migrate: "


def upgrade_head(ini: Path, url: str, *, options: str = "", application: str = "") -> None:
    """Run the migrations of ``ini`` up to head on ``url`` (a SQLAlchemy URL)."""
    import sqlalchemy
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.pool import NullPool

    connect_args: dict[str, Any] = {}
    config_url = url
    if application:
        connect_args["application_name"] = application
    if options:
        from urllib.parse import quote

        connect_args["options"] = options
        # an env.py that makes its own engine from sqlalchemy.url lands in the schema too
        joiner = "&" if "?" in url else "?"
        config_url = f"{url}{joiner}options={quote(options, safe='')}"
    engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    config = Config(str(ini), stdout=io.StringIO())
    config.set_main_option("sqlalchemy.url", config_url.replace("%", "%%"))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    ini = Path(argv[0]).resolve()
    url = os.environ.pop(URL)
    options = os.environ.pop(OPTIONS, "")
    application = os.environ.pop(APPLICATION, "")
    root = os.environ.pop(ROOT, "")
    for path in (root, str(ini.parent)):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    sys.argv = ["alembic", "-c", str(ini), "upgrade", "head"]
    try:
        upgrade_head(ini, url, options=options, application=application)
    except BaseException as exc:  # whatever the migrations raise: its first line
        text = str(exc).strip()
        first = text.splitlines()[0] if text else ""
        sys.stderr.write(f"{FAILED}{type(exc).__name__}: {first}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
