"""The guard's checks (DESIGN §3), each a pure function of config and facts.

The facts are read by ``dbenv.safety.facts`` (the only part that talks to the
server, read-only: does the database exist, what does its stamp say, does the
scope hold anything). Each check returns a ``CheckResult`` saying what it found
and, when failing, the way out. ``dbenv.safety.guard`` decides what a failing
result means; see its docstring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbenv.config.model import Environment
from dbenv.errors import DbenvError

# the facts' names, importable from here as before the facts had a module of their own
from dbenv.safety.facts import (
    Facts,
    compared,
    facts_from,
    open_target,
    place_of,
    protected_environments,
    protected_or_unresolved,
    read_facts,
    server_target,
    url_target,
)
from dbenv.safety.replicas import REPLICA_HINT, replica_refusal

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.target import Target

__all__ = [
    "LABELLING",
    "POOLED_HINT",
    "CheckResult",
    "Facts",
    "check_stamp_tier",
    "compared",
    "facts_from",
    "open_target",
    "place_of",
    "protected_environments",
    "protected_or_unresolved",
    "read_facts",
    "run_checks",
    "server_target",
    "url_target",
]

# operations that only create or label, never delete
LABELLING = frozenset({"stamp", "provision"})


@dataclass(frozen=True)
class CheckResult:
    """One check: passed or not, what it found, and (failing) how to fix it."""

    check: str
    passed: bool
    found: str
    hint: str | None = None
    overridable: bool = True  # False: not even --i-mean-it gets past it


def run_checks(
    project: Project,
    env: Environment,
    operation: str,
    facts: Facts,
    *,
    lower_tier: bool = False,
    target: Target | None = None,
) -> list[CheckResult]:
    """The checks, in DESIGN §3's order (the stamp's tier right after the declared one),
    then that the connection is direct.

    ``lower_tier``: the operation is ``dbenv stamp ENV --tier disposable``;
    ``target``: the environment's resolved target, when the caller has made it.
    """
    return [
        check_tier(env, operation),
        check_stamp_tier(env, facts, lower_tier=lower_tier),
        check_stamp(project, env, operation, facts),
        check_pattern(env, facts.database),
        check_shared(project, env, facts, target=target),
        check_replica(project, env, facts),
        check_tenant(env, facts, operation),
        check_declared(project, env, operation),
        check_direct(env, facts),
    ]


def check_tier(env: Environment, operation: str) -> CheckResult:
    if operation in LABELLING:
        return CheckResult("tier", True, f"{operation} only creates and labels; any tier may")
    if env.disposable:
        return CheckResult("tier", True, f"'{env.name}' is disposable")
    return CheckResult(
        "tier",
        False,
        f"'{env.name}' is {env.tier} (tier = \"{env.tier}\")",
        f'dbenv runs {operation} only on disposable environments: set tier = "disposable"'
        f" for '{env.name}' in dbenv.toml if its data may be thrown away.",
    )


def check_stamp_tier(env: Environment, facts: Facts, *, lower_tier: bool = False) -> CheckResult:
    """The stamp is the authority on the tier: stamped protected stays protected.

    Compares the tier of the stamp already read (no query of its own). A copy's
    stamp row is its original's, not this database's: the stamp check handles it.
    Failing without ``lower_tier`` is beyond any override: the one way down is the
    explicit, named re-stamp, which (with ``lower_tier``) needs the override.
    """
    stamp = facts.stamp
    if env.tier != "disposable" or stamp is None or facts.state == "copy":
        return CheckResult("stamp-tier", True, "the stamp does not contradict the tier")
    if stamp.tier != "protected":
        return CheckResult("stamp-tier", True, f"'{facts.database}' is stamped {stamp.tier}")
    db, owner = facts.database, f"{stamp.project}/{stamp.environment}"
    lower = f"dbenv stamp {env.name} --tier disposable --i-mean-it={db}"
    if lower_tier:
        return CheckResult(
            "stamp-tier",
            False,
            f"'{db}' is stamped protected ({owner}); lowering it to disposable",
            f"Lowering a protected stamp must name the database: {lower}.",
        )
    return CheckResult(
        "stamp-tier",
        False,
        f"'{db}' is stamped protected ({owner}) but '{env.name}' is now declared disposable",
        f"The stamp decides; if its data may really be thrown away, lower it first: {lower}"
        " (takes a snapshot and journals it).",
        overridable=False,
    )


def check_stamp(project: Project, env: Environment, operation: str, facts: Facts) -> CheckResult:
    db, labelling = facts.database, operation in LABELLING
    if not facts.exists:
        if operation == "provision":
            return CheckResult("stamp", True, f"database '{db}' does not exist yet")
        return CheckResult(
            "stamp",
            False,
            f"database '{db}' does not exist",
            f"Create it first: dbenv provision {env.name}.",
        )
    if facts.state == "ok":
        return CheckResult("stamp", True, f"'{db}' is stamped {project.name}/{env.name}")
    if facts.state == "absent":
        return _unstamped(env, facts, labelling)
    stamp = facts.stamp
    said = f"{stamp.project}/{stamp.environment}" if stamp else "?"
    restamp = (
        f"If '{db}' really is now {env.name}'s database, re-stamp it:"
        f" dbenv stamp {env.name} --i-mean-it={db}."
    )
    if facts.state == "copy":
        return CheckResult(
            "stamp",
            False,
            f"'{db}' is a copy of {said}'s database (its stamp table says {said} but the"
            " database-level marker is missing or different)",
            restamp,
        )
    what = "project" if facts.state == "other-project" else "environment"
    return CheckResult(
        "stamp",
        False,
        f"'{db}' is stamped as another {what}: {said}",
        f"Point {env.name}'s database_url at its own database, or: {restamp[0].lower()}"
        f"{restamp[1:]}",
    )


def _unstamped(env: Environment, facts: Facts, labelling: bool) -> CheckResult:
    db = facts.database
    if facts.relations == 0 and labelling:
        return CheckResult("stamp", True, f"'{db}' is empty and not stamped yet")
    if facts.relations and labelling and not env.disposable:
        return CheckResult(
            "stamp", True, f"'{db}' is not stamped; labelling a protected database is safe"
        )
    if facts.relations == 0:
        return CheckResult(
            "stamp",
            False,
            f"'{db}' is empty but carries no dbenv stamp",
            f"Stamp it first: dbenv provision {env.name} (or dbenv stamp).",
        )
    return CheckResult(
        "stamp",
        False,
        f"'{db}' holds {facts.relations} relation(s) in scope and carries no dbenv stamp",
        f"If it really is {env.name}'s database, stamp it: dbenv stamp {env.name}"
        f" --i-mean-it={db}.",
    )


def guard_pattern(env: Environment) -> str | None:
    """The configured pattern, or ``test`` for environments named test/testing.

    An explicit ``""`` (or ``false``) means no pattern: never the default.
    """
    if env.guard_pattern is not None:
        return env.guard_pattern or None
    return "test" if env.name.lower() in ("test", "testing") else None


def check_pattern(env: Environment, database: str) -> CheckResult:
    pattern = guard_pattern(env)
    if env.isolation == "schema" and env.schema:
        subject, kind = env.schema, "schema"
    elif env.isolation == "prefix" and env.prefix:
        subject, kind = env.prefix, "prefix"
    else:
        subject, kind = database, "database name"
    if pattern is None:
        return CheckResult("pattern", True, f"no guard pattern for '{env.name}'")
    try:
        matched = re.search(pattern, subject, re.IGNORECASE) is not None
    except re.error:
        matched = False
    if matched:
        return CheckResult("pattern", True, f"{kind} '{subject}' matches '{pattern}'")
    return CheckResult(
        "pattern",
        False,
        f"{kind} '{subject}' does not match guard pattern '{pattern}'",
        f"Point '{env.name}' at a {kind} that matches, or change guard_pattern in dbenv.toml.",
    )


def scopes_overlap(target: Environment, other: Environment) -> bool:
    """Whether an operation on ``target``'s scope could touch ``other``'s objects.

    Both are on one database. A database-mode target owns all of it; a schema
    target meets a database- or prefix-mode environment only in ``public``; a
    prefix target meets another prefix when one starts with the other, and a
    database-mode environment's unprefixed tables not at all (seed 000).
    """
    if target.isolation == "database":
        return True
    if target.isolation == "schema":
        if other.isolation == "schema":
            return target.schema == other.schema
        return target.schema == "public"
    if other.isolation == "schema":
        return other.schema == "public"
    if other.isolation == "prefix":
        mine, theirs = target.prefix or "", other.prefix or ""
        return mine.startswith(theirs) or theirs.startswith(mine)
    return False


def check_shared(
    project: Project, env: Environment, facts: Facts | None = None, *, target: Target | None = None
) -> CheckResult:
    mine = target.place if target is not None else place_of(env)
    for name in project.environment_names:
        if name == env.name or mine is None:
            continue
        try:
            other = project.environment(name)
        except DbenvError:
            continue  # an environment that does not resolve cannot be compared
        if other.tier != "protected" or place_of(other) != mine:
            continue
        if scopes_overlap(env, other):
            return CheckResult(
                "shared",
                False,
                f"'{env.name}' resolves to the same server and database"
                f" ('{mine[2]}'{_scope_text(env)}) as protected environment '{name}'",
                f"Give '{env.name}' its own database (or schema/prefix); shares_with only"
                " quiets dbenv check, it never permits destructive operations.",
            )
    return _shared_by_identity(env, facts)


def _shared_by_identity(env: Environment, facts: Facts | None) -> CheckResult:
    """The shared check on what the servers say they are, whatever the URLs spell."""
    for other in facts.same_as if facts is not None else ():
        if scopes_overlap(env, other) and facts is not None and facts.identity is not None:
            return CheckResult(
                "shared",
                False,
                f"'{env.name}' is protected environment '{other.name}''s database by identity"
                f" ({facts.identity.describe()}), though their URLs are spelled differently",
                f"Point '{env.name}' at its own database (or schema/prefix): its URL is another"
                f" name (alias, socket, pooler) for '{other.name}''s server.",
            )
    unknown = len(facts.notes) if facts is not None else 0
    also = f"; {unknown} protected environment(s) not compared by identity" if unknown else ""
    return CheckResult("shared", True, f"no protected environment shares the target{also}")


def check_replica(project: Project, env: Environment, facts: Facts) -> CheckResult:
    """A replica is never a target, whatever the override says (``dbenv.safety.replicas``)."""
    found = replica_refusal(project, env, in_recovery=facts.in_recovery)
    if found is None:
        return CheckResult("replica", True, "the target is a primary (not a replica)")
    return CheckResult("replica", False, found, REPLICA_HINT, overridable=False)


def check_tenant(env: Environment, facts: Facts, operation: str = "") -> CheckResult:
    """A prefix/schema environment inside a protected database: listed, touching only its own."""
    tenancy = facts.tenancy
    if tenancy is None:
        return CheckResult("tenant", True, "not inside a protected environment's database")
    db, host = facts.database, tenancy.host
    if not tenancy.listed:
        return CheckResult(
            "tenant",
            False,
            f"'{env.name}' ({env.isolation} isolation) is inside protected '{host}''s database"
            f" '{db}', whose stamp does not list it as a tenant",
            f"Give '{env.name}' a database of its own, or, if it belongs there, add tenants ="
            f' ["{env.name}"] under [environments.{host}] and run dbenv stamp {host}.',
        )
    if tenancy.foreign_rows and operation != "provision":
        shown = ", ".join(tenancy.foreign_rows[:5])
        extra = len(tenancy.foreign_rows) - 5
        more = f" and {extra} more" if extra > 0 else ""
        return CheckResult(
            "tenant",
            False,
            f"table(s) {shown}{more} in '{env.name}''s scope hold rows '{env.name}' did not"
            f" create (inside protected '{host}''s database '{db}')",
            f"Rename them out of '{env.name}''s scope, or, if they really are '{env.name}''s,"
            f" claim them: dbenv stamp {env.name} --i-mean-it={db}.",
        )
    return CheckResult("tenant", True, f"'{env.name}' is a tenant of '{host}''s database")


def check_direct(env: Environment, facts: Facts) -> CheckResult:
    """dbenv's lock and guarded work need a direct connection, never a pooled one."""
    if not facts.pooled:
        return CheckResult("direct", True, "the connection is direct (not through a pooler)")
    return CheckResult(
        "direct",
        False,
        f"'{env.name}''s database_url goes through a connection pooler such as PgBouncer"
        " (the backend pid given at connect differs from pg_backend_pid())",
        POOLED_HINT,
    )


POOLED_HINT = (
    "Set database_url to the server's direct address and pooler_url to the pooled one"
    " (applications get pooler_url); dbenv's lock and guarded work need a direct connection."
)


def _scope_text(env: Environment) -> str:
    if env.isolation == "schema":
        return f", schema '{env.schema}'"
    if env.isolation == "prefix":
        return f", prefix '{env.prefix}'"
    return ""


def check_declared(project: Project, env: Environment, operation: str = "") -> CheckResult:
    if operation in LABELLING:
        # `dbenv up` provisions every local environment from a shell that selects one
        # (even one this project does not declare): the selection is not read at all
        return CheckResult("declared", True, f"{operation} only creates and labels")
    declared = project.declared_environment
    if declared is None:
        return CheckResult("declared", True, "the process declares no environment")
    variable, value = declared
    if not project.claimants(variable, value):
        # naming no environment at all is bad configuration (exit 2), not a mismatch
        project.selected(variable, value, f"process environment ${variable}")
    if value == env.name or value in env.selector_values.get(variable, ()):
        return CheckResult("declared", True, f"the process declares {variable}={value}")
    return CheckResult(
        "declared",
        False,
        f"the process declares {variable}={value} but the target is '{env.name}'",
        f"Unset {variable}, or run under the target's environment: dbenv run {env.name} -- ...",
    )
