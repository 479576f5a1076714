"""Provisioning: make an environment's role, database, grants, extensions and stamp exist.

Idempotent, and it only ever creates: it never drops, and on a *protected*
environment it never changes what exists (owner, password, grants) — it creates
what is missing and lists the rest as actions for the operator. On a disposable
environment it also resets a role password that differs from the configured one.
It never changes a role or database setting that a protected environment also
uses (``provision_shared``): a role shared with production keeps its password,
grants and settings, a database shared with production its settings; what was
left alone is reported in ``skipped`` with the reason and the alternative.

Grants (seed 002): in ``database`` mode the role owns its database (full CRUD and
DDL there) and gets nothing elsewhere; on a disposable database ``CONNECT`` and
``TEMPORARY`` are revoked from PUBLIC, so other applications' roles cannot
connect to it. ``schema`` mode: the role owns its schema and may connect to the
shared database. ``prefix`` mode: the role may create tables in ``public``.

Passwords go to the server as SCRAM verifiers computed here, so the plain text
never reaches a server log; where the admin lacks a privilege, the statement the
operator must run is reported with the password masked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.config.model import Environment
from dbenv.errors import OperationError
from dbenv.lifecycle.provision_shared import Sharing, sharing_of
from dbenv.safety import journal
from dbenv.safety.checks import run_checks
from dbenv.safety.facts import read_facts
from dbenv.safety.guard import admit
from dbenv.safety.override import check_override
from dbenv.safety.stamp import Stamp, read_stamp, stamp_state, write_stamp
from dbenv.target import Target

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from dbenv.config import Project

__all__ = ["ProvisionResult", "provision", "scram_verifier"]


@dataclass(frozen=True)
class ProvisionResult:
    """What provisioning did, found in place, and could not do."""

    environment: str
    database: str
    role: str
    changes: tuple[str, ...]
    unchanged: tuple[str, ...]
    actions_required: tuple[str, ...]
    stamp: Stamp | None
    skipped: tuple[str, ...] = ()  # left alone: a protected environment uses it too

    @property
    def complete(self) -> bool:
        return not self.actions_required


@dataclass
class _Work:
    env: Environment
    role: str
    password: str | None
    database: str
    target: Target
    admin_user: str = ""
    changes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    sharing: Sharing = field(default_factory=Sharing)
    progress: Callable[[str], None] | None = None

    def changed(self, text: str) -> None:
        self.changes.append(text)
        if self.progress:
            self.progress(text)

    def skip(self, text: str) -> None:
        self.skipped.append(text)
        if self.progress:
            self.progress(f"skipped: {text}")

    @property
    def protected(self) -> bool:
        return not self.env.disposable

    @property
    def separate_role(self) -> bool:
        return bool(self.role) and self.role != self.admin_user


def scram_verifier(password: str, *, iterations: int = 4096, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password``."""
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def provision(
    project: Project,
    env: Environment,
    *,
    override: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ProvisionResult:
    """Create what ``env`` needs; report what changed and what the operator must do."""
    target = Target.of(env)
    work = _Work(
        env, target.user or "", target.password, target.database, target, progress=progress
    )
    override = override if override is not None else project.override_database
    # read the target as the admin: the role itself may not exist yet
    facts = read_facts(project, env, target.as_admin())
    results = run_checks(project, env, "provision", facts, target=target)
    if override is not None:
        results.append(check_override(project, env, override, work.database, same_as=facts.same_as))
    admit(project, env, "provision", override, {"database": work.database}, results=results)
    work.sharing = sharing_of(project, env)
    with postgres.connect(
        target.maintenance,
        autocommit=True,
        application_name=f"dbenv:{project.name}:{env.name}:provision",
    ) as admin:
        work.admin_user = _scalar(admin, "SELECT current_user")
        if work.separate_role:
            _ensure_role(admin, work)
        created = _ensure_database(admin, work)
    stamp = None
    if created:
        stamp = _inside_database(project, work)
    return ProvisionResult(
        env.name,
        work.database,
        work.role,
        tuple(work.changes),
        tuple(work.unchanged),
        tuple(work.actions),
        stamp,
        tuple(work.skipped),
    )


def _scalar(conn: psycopg.Connection[Any], query: str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def _ensure_role(admin: psycopg.Connection[Any], work: _Work) -> None:
    from psycopg import errors, sql

    exists = _scalar(admin, "SELECT 1 FROM pg_roles WHERE rolname = %s", (work.role,))
    password = (
        sql.SQL(" PASSWORD {}").format(sql.Literal(scram_verifier(work.password)))
        if work.password
        else sql.SQL("")
    )
    if exists:
        work.unchanged.append(f"role {work.role} exists")
        _check_password(admin, work)
        _check_createdb(admin, work)
        return
    createdb = sql.SQL(" CREATEDB" if work.env.createdb else "")
    try:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN{}{}").format(
                sql.Identifier(work.role), createdb, password
            )
        )
        work.changed(f"created role {work.role}")
    except errors.DuplicateObject:
        work.unchanged.append(f"role {work.role} exists")
    except errors.InsufficientPrivilege:
        shown = (" CREATEDB" if work.env.createdb else "") + (
            " PASSWORD '****'" if work.password else ""
        )
        work.actions.append(
            f'CREATE ROLE "{work.role}" LOGIN{shown};  -- as a role with CREATEROLE; the'
            f" password is the one in {work.env.name}'s database_url"
        )


def _check_createdb(admin: psycopg.Connection[Any], work: _Work) -> None:
    """``createdb = true``: grant CREATEDB to an existing role (never take it away)."""
    from psycopg import errors, sql

    if not work.env.createdb:
        return
    if _scalar(admin, "SELECT rolcreatedb FROM pg_roles WHERE rolname = %s", (work.role,)):
        work.unchanged.append(f"role {work.role} may create databases")
        return
    statement = f'ALTER ROLE "{work.role}" CREATEDB;'
    if work.protected or work.sharing.role:
        work.actions.append(
            f"{statement}  -- createdb = true (dbenv never changes a protected role)"
        )
        return
    try:
        admin.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(work.role)))
        work.changed(f"role {work.role} may create databases")
    except errors.InsufficientPrivilege:
        work.actions.append(statement)


def _check_password(admin: psycopg.Connection[Any], work: _Work) -> None:
    from psycopg import errors, sql

    if not work.password:
        return
    try:
        stored = _scalar(
            admin, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (work.role,)
        )
    except errors.InsufficientPrivilege:
        work.unchanged.append(f"password of role {work.role} not verified (needs superuser)")
        return
    if stored and _verifier_matches(str(stored), work.password):
        work.unchanged.append(f"password of role {work.role} matches")
        return
    # a local-stack role without any password gets one even when protected: that
    # changes nothing an app could log in with before (TCP asks for a password)
    first_local = stored is None and work.env.server == "local"
    if work.protected and not first_local:
        work.actions.append(
            f"ALTER ROLE \"{work.role}\" PASSWORD '****';  -- the stored password differs from"
            f" {work.env.name}'s database_url (dbenv never changes a protected role)"
        )
        return
    if work.sharing.role:
        work.actions.append(work.sharing.password_note(work.env.name, work.role))
        return
    try:
        admin.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(work.role), sql.Literal(scram_verifier(work.password))
            )
        )
        work.changed(f"set the password of role {work.role}")
    except errors.InsufficientPrivilege:
        work.actions.append(f"ALTER ROLE \"{work.role}\" PASSWORD '****';")


def _verifier_matches(stored: str, password: str) -> bool:
    try:
        method, rest = stored.split("$", 1)
        iterations, salt = rest.split("$", 1)[0].split(":")
        if method != "SCRAM-SHA-256":
            return False
        expected = scram_verifier(password, iterations=int(iterations), salt=base64.b64decode(salt))
    except ValueError:
        return False
    return hmac.compare_digest(expected, stored)


def _ensure_database(admin: psycopg.Connection[Any], work: _Work) -> bool:
    """Create the database when missing; False when it does not exist afterwards."""
    from psycopg import errors, sql

    owner = _scalar(
        admin,
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
        (work.database,),
    )
    if owner is not None:
        work.unchanged.append(f"database {work.database} exists (owner {owner})")
        return True
    owned = work.env.isolation == "database" and work.separate_role
    statement = sql.SQL("CREATE DATABASE {}{}").format(
        sql.Identifier(work.database),
        sql.SQL(" OWNER {}").format(sql.Identifier(work.role)) if owned else sql.SQL(""),
    )
    try:
        admin.execute(statement)
        work.changed(
            f"created database {work.database}" + (f" owned by {work.role}" if owned else "")
        )
        return True
    except errors.DuplicateDatabase:
        work.unchanged.append(f"database {work.database} exists")
        return True
    except (errors.InsufficientPrivilege, errors.UndefinedObject):
        work.actions.append(
            f"{statement.as_string(admin)};  -- as a role with CREATEDB (and membership in"
            f" {work.role}); then run dbenv provision {work.env.name} again"
        )
        return False


def _inside_database(project: Project, work: _Work) -> Stamp | None:
    """Grants, schema, extensions, settings, journal and stamp, as the admin."""
    from psycopg import errors

    url = work.target.admin_on(work.database)
    with postgres.connect(
        url, autocommit=True, application_name=f"dbenv:{project.name}:{work.env.name}:provision"
    ) as conn:
        _grant(conn, work)
        _extensions(conn, work)
        _settings(conn, work)
        try:
            journal.ensure_table(conn)
            if stamp_state(conn, project.name, work.env) == "ok":
                work.unchanged.append(f"stamp {project.name}/{work.env.name} in place")
                stamp = read_stamp(conn, work.env)
            else:
                stamp = write_stamp(conn, project.name, work.env)
                work.changed(f"stamped {work.database} as {project.name}/{work.env.name}")
            _share_dbenv_schema(conn, work)
        except errors.InsufficientPrivilege:
            work.actions.append(
                f"run dbenv provision {work.env.name} with an admin_url that owns"
                f" {work.database}: the dbenv schema and stamp could not be written"
            )
            return None
        except OperationError as exc:
            work.actions.append(str(exc))
            return None
    return stamp


def _grant(conn: psycopg.Connection[Any], work: _Work) -> None:
    """The role's rights on its database (disposable only; protected grants stay as they are)."""
    from psycopg import errors, sql

    if not work.separate_role:
        return
    if work.env.isolation == "schema" and work.env.schema:
        _ensure_schema(conn, work, work.env.schema)
    if work.protected:
        work.unchanged.append(f"grants on {work.database} left as they are (protected)")
        return
    database_wide = work.env.isolation == "database" and work.sharing.database
    if work.sharing.role or database_wide:
        work.skip(work.sharing.grants_note(work.env.name, work.role, work.database))
        return
    db, role = sql.Identifier(work.database), sql.Identifier(work.role)
    statements = [sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, role)]
    if work.env.isolation == "database":
        statements.append(
            sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db)
        )
    if work.env.isolation == "prefix":
        statements.append(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(role))
    for statement in statements:
        try:
            conn.execute(statement)
        except errors.InsufficientPrivilege:
            work.actions.append(f"{statement.as_string(conn)};")
    work.unchanged.append(f"grants for {work.role} on {work.database} in place")


def _ensure_schema(conn: psycopg.Connection[Any], work: _Work, schema: str) -> None:
    from psycopg import errors, sql

    if _scalar(conn, "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)):
        work.unchanged.append(f"schema {schema} exists")
        return
    statement = sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
        sql.Identifier(schema), sql.Identifier(work.role)
    )
    try:
        conn.execute(statement)
        work.changed(f"created schema {schema} owned by {work.role}")
    except errors.InsufficientPrivilege:
        work.actions.append(f"{statement.as_string(conn)};")


def _extensions(conn: psycopg.Connection[Any], work: _Work) -> None:
    from psycopg import errors, sql

    for name in work.env.extensions:
        if _scalar(conn, "SELECT 1 FROM pg_extension WHERE extname = %s", (name,)):
            work.unchanged.append(f"extension {name} exists")
            continue
        statement = sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name))
        try:
            conn.execute(statement)
            work.changed(f"created extension {name}")
        except (errors.InsufficientPrivilege, errors.UndefinedFile, errors.FeatureNotSupported):
            work.actions.append(
                f"{statement.as_string(conn)};  -- as a superuser, in {work.database}"
            )


def _settings(conn: psycopg.Connection[Any], work: _Work) -> None:
    """``synchronous_commit = off`` on disposable databases (seed 001's speed-up)."""
    from psycopg import errors, sql

    if work.protected:
        return
    if work.env.isolation == "database":
        target = sql.SQL("DATABASE {}").format(sql.Identifier(work.database))
        role_filter = "s.setrole = 0"
        shared = work.sharing.database
    elif work.separate_role:
        target = sql.SQL("ROLE {} IN DATABASE {}").format(
            sql.Identifier(work.role), sql.Identifier(work.database)
        )
        role_filter = "s.setrole = (SELECT oid FROM pg_roles WHERE rolname = %(role)s)"
        shared = work.sharing.role_in_database
    else:
        return
    present = _scalar(
        conn,
        "SELECT 1 FROM pg_db_role_setting s JOIN pg_database d"
        " ON d.oid = s.setdatabase WHERE d.datname = current_database() AND "
        + role_filter
        + " AND 'synchronous_commit=off' = ANY(s.setconfig)",
        {"role": work.role},
    )
    if shared:
        _settings_shared(conn, work, target, shared, present=bool(present))
        return
    if present:
        work.unchanged.append("synchronous_commit = off already set")
        return
    try:
        conn.execute(sql.SQL("ALTER {} SET synchronous_commit = off").format(target))
        work.changed(f"set synchronous_commit = off on {work.database}")
    except errors.InsufficientPrivilege:
        work.actions.append(f"ALTER {target.as_string(conn)} SET synchronous_commit = off;")


def _settings_shared(
    conn: psycopg.Connection[Any],
    work: _Work,
    target: sql.Composable,
    shared: tuple[str, ...],
    *,
    present: bool,
) -> None:
    """A protected environment uses the setting's target: leave it, or ask to undo it."""
    where = target.as_string(conn)
    if present:  # an earlier provision set it: production's commits are asynchronous
        work.actions.append(
            f"ALTER {where} RESET synchronous_commit;  -- synchronous_commit = off is set"
            f" there, and {', '.join(shared)} uses it too"
        )
        return
    work.skip(work.sharing.settings_note(work.env.name, where))


def _share_dbenv_schema(conn: psycopg.Connection[Any], work: _Work) -> None:
    """Let the environment's role stamp and journal without the admin."""
    from psycopg import errors, sql

    if not work.separate_role:
        return
    role = sql.Identifier(work.role)
    for statement in (
        "GRANT USAGE ON SCHEMA dbenv TO {}",
        "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA dbenv TO {}",
        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA dbenv TO {}",
    ):
        conn.execute(sql.SQL(statement).format(role))
    if work.env.isolation != "database":
        return
    try:  # the role owns its whole database, dbenv's schema included
        with conn.transaction():
            for name in ("SCHEMA dbenv", "TABLE dbenv.stamp", "TABLE dbenv.journal"):
                conn.execute(sql.SQL(f"ALTER {name} OWNER TO {{}}").format(role))
    except errors.InsufficientPrivilege:
        pass  # the grants above are enough to stamp and journal
