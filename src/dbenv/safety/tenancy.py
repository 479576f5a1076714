"""Prefix and schema environments inside a protected environment's database.

Seed 000 keeps production's tables and test's ``test_``-prefixed ones in one
database; that is a choice a team makes on purpose. Made by accident (a
``prefix = "test_"`` environment declared on production's database), a reset of it
deletes whatever production keeps under that prefix. So, for a prefix or schema
environment whose database is a protected environment's — one declared in
database isolation on the same server and database (by URL or by identity,
``dbenv.safety.identity``), or a database whose own stamp says ``protected`` — the guard
(check ``tenant``) requires:

- that database's stamp lists the environment as a tenant: ``tenants = ["test"]``
  under the protected environment, written into its stamp by ``dbenv stamp
  production`` (or ``provision``) — a config edit alone permits nothing;
- no table in the environment's scope holds rows unless the environment made it:
  the environment's stamp row records the relations (by oid) that appeared in its
  scope during its own guarded operations (``made``); ``dbenv stamp ENV
  --i-mean-it=DB`` claims what is there now.

Outside a protected database nothing here runs (no query, no cost).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dbenv.config.model import Environment
from dbenv.safety.stamp import scope_of

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

__all__ = [
    "TENANT_COLUMNS",
    "Tenancy",
    "record_made",
    "tenancy_of",
]

# appended to the stamp query (``s`` is the scope's stamp row): the database-wide
# stamp row and the scope's made list, as JSON so a stamp table from before these
# columns existed reads as "none"
TENANT_COLUMNS = "(SELECT to_jsonb(d) FROM dbenv.stamp d WHERE d.scope = ''), to_jsonb(s) -> 'made'"


@dataclass(frozen=True)
class Tenancy:
    """The target is inside a protected environment's database: what its stamp allows."""

    host: str  # the protected environment (or the database stamp's project/environment)
    listed: bool  # the database's stamp lists the target as a tenant
    scope: frozenset[int]  # oids of the relations in the target's scope, before the operation
    made: frozenset[int]  # oids the target made (its stamp row's ``made``)
    foreign_rows: tuple[str, ...] = ()  # in-scope tables holding rows it did not make


def tenancy_of(
    conn: psycopg.Connection[Any],
    project: Project,
    env: Environment,
    *,
    database_stamp: dict[str, Any] | None,
    made: list[int] | None,
    hosts: list[Environment],
) -> Tenancy | None:
    """None unless ``env`` (prefix/schema) is inside a protected database; else its state.

    ``hosts``: protected environments in database isolation on the same database.
    """
    if env.isolation not in ("prefix", "schema"):
        return None
    stamped_protected = database_stamp is not None and database_stamp.get("tier") == "protected"
    if not hosts and not stamped_protected:
        return None
    if hosts:
        host = hosts[0].name
    else:
        assert database_stamp is not None
        host = f"{database_stamp.get('project')}/{database_stamp.get('environment')}"
    listed = (
        database_stamp is not None
        and database_stamp.get("project") == project.name
        and env.name in (database_stamp.get("tenants") or ())
    )
    scope = _scope_relations(conn, env)
    made_set = frozenset(int(oid) for oid in made or ())
    tenancy = Tenancy(host, listed, frozenset(scope), made_set)
    unmade = {oid: name for oid, (name, table) in scope.items() if table and oid not in made_set}
    return replace(tenancy, foreign_rows=_holding_rows(conn, unmade))


def _scope_relations(
    conn: psycopg.Connection[Any], env: Environment
) -> dict[int, tuple[str, bool]]:
    """oid -> (qualified name, is a table) of every relation in the environment's scope."""
    from dbenv.backends.postgres import scope_condition

    condition, params = scope_condition(env)
    rows = conn.execute(
        "SELECT c.oid, format('%%I.%%I', n.nspname, c.relname), c.relkind IN ('r', 'p')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {condition}",
        params,
    ).fetchall()
    return {int(r[0]): (str(r[1]), bool(r[2])) for r in rows}


def _holding_rows(conn: psycopg.Connection[Any], tables: dict[int, str]) -> tuple[str, ...]:
    """The tables that hold at least one row, in one query; unreadable ones count as holding."""
    from psycopg import errors, sql

    if not tables:
        return ()
    parts = [
        sql.SQL("SELECT {} WHERE EXISTS (SELECT 1 FROM {})").format(
            sql.Literal(name), sql.SQL(name)
        )
        for name in tables.values()
    ]
    try:
        rows = conn.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()
    except errors.InsufficientPrivilege:
        return tuple(sorted(tables.values()))  # rows it may not even read are not its own
    return tuple(sorted(str(r[0]) for r in rows))


def record_made(
    conn: psycopg.Connection[Any], env: Environment, tenancy: Tenancy, *, claim: bool
) -> None:
    """After a guarded operation: what appeared in scope is the environment's (``claim``:
    everything in scope now, for ``dbenv stamp ENV --i-mean-it=DB``)."""
    now = frozenset(_scope_relations(conn, env))
    made = now if claim else (tenancy.made & now) | (now - tenancy.scope)
    conn.execute(
        "UPDATE dbenv.stamp SET made = %s WHERE scope = %s",
        (sorted(made), scope_of(env) or ""),
    )
