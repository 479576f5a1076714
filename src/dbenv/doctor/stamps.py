"""The doctor's one rule that connects: a declared tier the stamp contradicts.

The stamp is the authority on the tier (DESIGN §3.6): a database stamped
protected stays protected whatever the project file now says, so an environment
declared disposable over such a stamp is one the guard will refuse — worth saying
before anyone tries. The other way round (declared protected, stamped disposable)
is safe but stale: a warning. Each environment's stamp is read on a read-only
session with a short timeout, all at once; one that cannot be read is a note, not
a pass and not a failure. ``dbenv check --offline`` skips this rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from dbenv.doctor.findings import Finding
from dbenv.errors import DbenvError

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Environment
    from dbenv.safety.checks import Facts

__all__ = ["stamp_tier_rule"]

_READ_ONLY = "-c default_transaction_read_only=on -c lock_timeout=1000 -c statement_timeout=5000"


def stamp_tier_rule(
    project: Project, envs: Sequence[Environment], *, timeout: int = 3
) -> tuple[list[Finding], list[str]]:
    """Findings for environments whose stamp contradicts their tier, and notes."""
    targets = [env for env in envs if env.database_url is not None]
    if not targets:
        return [], []
    with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
        read = list(pool.map(lambda env: _read(project, env, timeout), targets))
    findings: list[Finding] = []
    notes: list[str] = []
    for env, facts in zip(targets, read, strict=True):
        if isinstance(facts, str):
            notes.append(
                f"could not read the stamp of '{env.name}' ({facts}); its tier was not compared."
            )
        else:
            findings += _compare(env, facts)
    return findings, notes


def _read(project: Project, env: Environment, timeout: int) -> Facts | str:
    """The stamp facts of ``env``'s database, or why they could not be read."""
    from psycopg import Error

    from dbenv.backends import postgres
    from dbenv.safety.checks import facts_from

    assert env.database_url is not None
    options = _READ_ONLY
    if env.isolation == "schema" and env.schema:
        options += f" -c search_path={env.schema}"
    try:
        with postgres.connect(
            env.database_url,
            autocommit=True,
            connect_timeout=timeout,
            application_name=f"dbenv:{project.name}:{env.name}:check",
            options=options,
        ) as conn:
            return facts_from(conn, project, env)
    except DbenvError as error:
        return error.message.rstrip(".")
    except Error as error:
        return f"could not read it: {type(error).__name__}"


def _compare(env: Environment, facts: Facts) -> list[Finding]:
    from dbenv.safety.checks import check_stamp_tier

    stamp = facts.stamp
    if stamp is not None and not check_stamp_tier(env, facts).passed:
        return [
            Finding(
                "stamp-tier",
                "error",
                env.name,
                f"environment '{env.name}' is declared disposable but its database"
                f" '{facts.database}' is stamped protected ({stamp.project}/{stamp.environment});"
                " the guard refuses every destructive operation on it.",
                f"Declare it protected again, or lower the stamp on purpose: dbenv stamp {env.name}"
                f" --tier disposable --i-mean-it={facts.database}.",
            )
        ]
    if facts.state == "ok" and stamp is not None and stamp.tier != env.tier:
        return [
            Finding(
                "stamp-tier",
                "warning",
                env.name,
                f"environment '{env.name}' is declared {env.tier} but its database"
                f" '{facts.database}' is stamped {stamp.tier}.",
                f"Re-stamp it with the declared tier: dbenv stamp {env.name}.",
            )
        ]
    return []
