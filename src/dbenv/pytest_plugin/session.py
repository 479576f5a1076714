"""The plugin's session: resolve the test environment, pass the guard, prepare its database.

``TestDatabases`` does, once per environment and per process (each xdist worker
is a process): load the project, start the local stack when the environment
lives on it, pass the guard on the configured environment (provisioning it when
its database is missing or empty and unstamped — never a protected one, never
one the process's ``APP_ENV`` says is not the target), build or reuse the
template, and give this worker its database. Nothing happens until a fixture
asks: a session that uses none of them never touches a server.

It must never: prepare a protected environment, drop a database not named and
stamped as this environment's worker clone, give a worker a Redis db index another
environment uses, or show a password in a message.

What goes through ``guard.destructive`` (checks, advisory lock, journal): the
configured database's clone or data-only reset without xdist, ``dbenv reset`` of
a schema or prefix, and the seed rows loaded into one. An xdist worker's clone
(``<database>_gw0``) does not exist before the session makes it, so the guard's
stamp check cannot pass on it; instead the configured environment passes the
guard first (``_admit``), and a clone, its staging copy or a leftover of a
killed run is dropped only when absent or stamped as this project's environment
(``databases.owned``): a database that merely has such a name is refused (for
this worker's own) or left alone (leftovers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres, redis_cluster
from dbenv.config.model import Environment
from dbenv.errors import ConfigError, DbenvError
from dbenv.pytest_plugin import databases, workers_redis
from dbenv.pytest_plugin.names import failed_copy
from dbenv.pytest_plugin.options import PluginOptions
from dbenv.pytest_plugin.targets import Target, WorkerInfo, derive

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy.engine import Engine

    from dbenv.config import Project
    from dbenv.lifecycle.datareset import DataResetPlan

Progress = Callable[[str], None]
_IDLE, _INTRANS = 0, 2  # psycopg.pq.TransactionStatus, without importing psycopg


@dataclass
class TestDatabases:
    """Prepared targets of this process, their connections, and what to clean up."""

    options: PluginOptions
    rootdir: Path
    worker: WorkerInfo = field(default_factory=WorkerInfo)
    progress: Progress | None = None
    kept: list[str] = field(default_factory=list)
    # the process environment before the plugin set the test environment's variables:
    # what the shell declared (APP_ENV=production) still reaches the guard
    process_env: Mapping[str, str] | None = None
    _project: Project | None = None
    _targets: dict[str, Target] = field(default_factory=dict)
    _failures: dict[str, DbenvError] = field(default_factory=dict)
    _conns: dict[str, psycopg.Connection[Any]] = field(default_factory=dict)
    _engines: dict[str, Engine] = field(default_factory=dict)
    _plans: dict[str, DataResetPlan] = field(default_factory=dict)
    _redis: dict[str, list[Environment] | DbenvError] = field(default_factory=dict)
    _sent: set[str] = field(default_factory=set)  # connections with a result to read

    __test__ = False  # not a test class, whatever pytest thinks of the name

    # -- resolving ------------------------------------------------------------------
    def project(self) -> Project:
        if self._project is None:
            from dbenv.config import load_project

            self._project = load_project(
                project=self.options.project, cwd=self.rootdir, process_env=self.process_env
            )
        return self._project

    def target(self, name: str | None = None) -> Target:
        """The prepared target of environment ``name`` (default: the session's)."""
        name = name or self.options.environment
        if name in self._failures:
            raise self._failures[name]
        if name not in self._targets:
            try:
                self._targets[name] = self._prepare(name)
            except DbenvError as error:
                self._failures[name] = error
                raise
        return self._targets[name]

    def _prepare(self, name: str) -> Target:
        started = time.monotonic()
        project = self.project()
        configured = project.environment(name)
        if configured.server == "local":
            project, configured = self._local_stack(project, name)
        neighbours = workers_redis.neighbours(project, name) if configured.redis_url else ()
        env = derive(configured, self.worker, neighbours)
        template = None
        if configured.isolation == "database":
            database, key, reused, template = self._prepare_database(project, configured, env)
        else:
            workers_redis.check_room(configured, neighbours, self.worker)  # reset flushes it
            database, key, reused = self._prepare_scoped(project, configured, env)
        seconds = time.monotonic() - started
        return Target(env, configured, database, key, reused, seconds, template, neighbours)

    def _local_stack(self, project: Project, name: str) -> tuple[Project, Environment]:
        from dbenv.commands.stack import stack_for, up

        if not stack_for(project).status().running:
            self._say(f"starting the local stack for '{name}'")
            up(project)
            self._project = replace(project, _cache={})
        project = self.project()
        return project, project.environment(name)

    def _say(self, text: str) -> None:
        if self.progress:
            self.progress(text)

    # -- the guard --------------------------------------------------------------------
    def _admit(self, project: Project, env: Environment) -> None:
        """Raise the guard's refusal unless ``env`` may be reset; provision it if new.

        xdist workers start together: one provisions while the others wait.
        """
        from dbenv.lifecycle.template import _locked, connect_maintenance
        from dbenv.target import Target as Resolved

        maint = connect_maintenance(Resolved.of(env), project, "pytest")
        with maint, _locked(maint, f"dbenv-pytest:{project.name}:{env.name}"):
            self._admit_locked(project, env)

    def _admit_locked(self, project: Project, env: Environment) -> None:
        from dbenv.safety.checks import run_checks
        from dbenv.safety.facts import read_facts
        from dbenv.safety.guard import admit, evaluate
        from dbenv.target import Target as Resolved

        resolved = Resolved.of(env)
        facts = read_facts(project, env, resolved)
        results = run_checks(project, env, "reset", facts, target=resolved)
        failing = [r.check for r in results if not r.passed]
        fresh = not facts.exists or (facts.state == "absent" and facts.relations == 0)
        if failing == ["stamp"] and fresh:
            from dbenv.lifecycle.provision import provision

            self._say(f"provisioning '{env.name}'")
            provision(project, env)
            results = evaluate(project, env, "reset", target=resolved)
        if fresh:  # provisioning would fix the stamp: name the check that would not
            results.sort(key=lambda r: r.check == "stamp")
        admit(project, env, "reset", None, {"by": "pytest"}, results=results)

    # -- database isolation -----------------------------------------------------------
    def _template_and_key(self, project: Project, env: Environment) -> tuple[str, str, str]:
        from dbenv.lifecycle.template import connect_maintenance, ensure_template, template_name
        from dbenv.sources.schema import load_schema_source
        from dbenv.target import Target as Resolved

        source = load_schema_source(project, env)
        resolved = Resolved.of(env)
        if self.options.recreate and self.worker.id is None:
            from dbenv.sources.schema import fingerprint

            name = template_name(project.name, fingerprint(project, env, source))
            with connect_maintenance(resolved, project, "template") as maint:
                databases.drop_templates(maint, name)
        template = ensure_template(project, env, source, progress=self.progress, target=resolved)
        digest = databases.seed_digest(env.seed_files)
        if not digest:
            return template.name, template.name, template.fingerprint
        seeded = databases.seeded_template(project, env, template.name, digest)
        return template.name, seeded, f"{template.fingerprint}:{digest}"

    def _prepare_database(
        self, project: Project, configured: Environment, env: Environment
    ) -> tuple[str, str, bool, str]:
        from dbenv.lifecycle.template import Template, clone_into, connect_maintenance
        from dbenv.safety.guard import destructive

        self._admit(project, configured)
        schema_template, template, key = self._template_and_key(project, configured)
        database = postgres.url_parts(env.database_url or "").get("dbname", "")
        reuse = self.options.reuse and not self.options.recreate
        if self.worker.id is not None:
            reused = self._prepare_worker(project, configured, env, template, key)
            return database, key, reused, schema_template
        with destructive(project, env, "reset", arguments={"by": "pytest"}) as guarded:
            if reuse and databases.read_key(guarded.conn, env) == key:
                self._empty_on(guarded.conn, env)
                return database, key, True, schema_template
            guarded.before_drop()
            with connect_maintenance(guarded.target, project, "pytest") as maint:
                clone_into(  # only the template's name is used
                    maint,
                    Template(template, key, "", ()),
                    database,
                    prepare=lambda fresh: databases.label(project, env, fresh, key),
                )
            guarded.database_recreated()
        return database, key, False, schema_template

    def _prepare_worker(
        self, project: Project, configured: Environment, env: Environment, template: str, key: str
    ) -> bool:
        from dbenv.lifecycle.template import connect_maintenance
        from dbenv.safety.stamp import stamp_state
        from dbenv.target import Target as Resolved

        database = postgres.url_parts(env.database_url or "").get("dbname", "")
        with connect_maintenance(Resolved.of(configured), project, "pytest") as maint:
            databases.drop_other_workers(maint, project, configured, self.worker.count)
            if databases.exists(maint, database):
                with self._connect(env, autocommit=True) as conn:
                    state = stamp_state(conn, project.name, env)
                    if state != "ok":
                        raise databases.not_ours(project.name, env, database, state)
                    reuse = self.options.reuse and not self.options.recreate
                    if reuse and databases.read_key(conn, env) == key:
                        self._empty_on(conn, env)
                        return True
            databases.clone_worker(
                maint, project, configured, env, template=template, database=database, key=key
            )
        return False

    # -- schema and prefix isolation --------------------------------------------------
    def _prepare_scoped(
        self, project: Project, configured: Environment, env: Environment
    ) -> tuple[str, str, bool]:
        from dbenv.lifecycle.reset import reset
        from dbenv.sources.schema import fingerprint

        self._admit(project, configured)
        if env is not configured:
            self._admit(project, env)
        digest = databases.seed_digest(env.seed_files)
        key = fingerprint(project, env) + (f":{digest}" if digest else "")
        database = postgres.url_parts(env.database_url or "").get("dbname", "")
        with self._connect(env, autocommit=True) as conn:
            current = databases.read_key(conn, env)
        if self.options.reuse and not self.options.recreate and current == key:
            reset(project, env, data_only=True)
            return database, key, True
        reset(project, env, progress=self.progress)
        if digest:
            databases.seed_scoped(project, env)
        with self._connect(env, autocommit=True) as conn:
            databases.write_key(conn, env, key)
        return database, key, False

    # -- Redis ------------------------------------------------------------------------
    def redis_protected(self, target: Target) -> list[Environment]:
        """The protected environments a flush of ``target``'s Redis db is checked against.

        A Redis Cluster environment needs a ``redis_prefix`` (each xdist worker adds
        its id to it, ``targets.derive``); a flush removes that prefix's keys only.

        Worked out once per environment, with the check that the server has a db
        index for every xdist worker.
        """
        name = target.configured.name
        if name not in self._redis:
            try:
                if target.env.redis_url is None and not target.env.redis_cluster:
                    raise ConfigError(
                        f"environment '{name}' has no Redis URL for dbenv_redis.",
                        hint=f"Set redis_url (and redis_db) under [environments.{name}].",
                    )
                if target.env.redis_cluster:  # by key prefix (a worker's own), never a db
                    redis_cluster.cluster_prefix(target.env)
                else:
                    workers_redis.check_room(target.configured, target.neighbours, self.worker)
                self._redis[name] = [e for e in target.neighbours if not e.disposable]
            except DbenvError as error:
                self._redis[name] = error
        found = self._redis[name]
        if isinstance(found, DbenvError):
            raise found
        return found

    # -- what the fixtures use --------------------------------------------------------
    def _connect(self, env: Environment, *, autocommit: bool = False) -> psycopg.Connection[Any]:
        from dbenv.integrations.sqlalchemy import application_name
        from dbenv.target import Target as Resolved

        return postgres.connect(
            Resolved.of(env).url,
            autocommit=autocommit,
            search_path=env.schema if env.isolation == "schema" else None,
            application_name=application_name(env, "pytest"),
        )

    def connection(self, target: Target) -> psycopg.Connection[Any]:
        """This process's connection to ``target``, idle (reopened if a test closed it)."""
        conn = self._open(target)
        if conn.info.transaction_status != _IDLE:
            conn.rollback()
        return conn

    def _open(self, target: Target) -> psycopg.Connection[Any]:
        name = target.configured.name
        conn = self._conns.get(name)
        if conn is None or conn.closed or conn.broken:
            conn = self._conns[name] = self._connect(target.env)
        elif name in self._sent:
            self._sent.discard(name)
            while conn.pgconn.get_result() is not None:  # end_test's ROLLBACK; BEGIN
                pass
        return conn

    def begin_test(self, target: Target) -> psycopg.Connection[Any]:
        """The connection inside a transaction for one test.

        The previous test's teardown already sent ``ROLLBACK; BEGIN`` without
        waiting (``end_test``), so neither setup nor teardown waits for a round
        trip — what keeps the fixture well under a millisecond.
        """
        conn = self._open(target)
        if conn.info.transaction_status != _INTRANS:
            if conn.info.transaction_status != _IDLE:
                conn.rollback()
            conn.execute("SELECT 1")  # psycopg opens the transaction first
        return conn

    def end_test(self, target: Target, *, keep: bool = False) -> bool:
        """Roll the test's transaction back (commit it when ``keep``) and begin the next.

        Returns whether the test may have committed rows: it ended the transaction
        itself (``commit()``), or ``keep`` committed them on purpose.
        """
        conn = self._conns.get(target.configured.name)
        if conn is None or conn.closed or conn.broken:
            return True
        ended = conn.info.transaction_status == _IDLE
        if keep and conn.info.transaction_status == _INTRANS:
            conn.execute("COMMIT; BEGIN")
            return True
        if ended:
            return True
        try:  # sent, not awaited: the next use reads the result (_open)
            conn.pgconn.send_query(b"ROLLBACK; BEGIN")
            self._sent.add(target.configured.name)
        except Exception:  # the test left the connection mid-command (COPY, pipeline)
            self._release(target.configured.name)
        return False

    def engine(self, target: Target) -> Engine:
        """A SQLAlchemy engine (psycopg) on ``target``, one per process."""
        name = target.configured.name
        if name not in self._engines:
            from dbenv.integrations.sqlalchemy import create_engine

            self._engines[name] = create_engine(target.env, component="pytest")
        return self._engines[name]

    def _empty_on(self, conn: psycopg.Connection[Any], env: Environment) -> tuple[str, ...]:
        from dbenv.lifecycle.datareset import plan, run

        key = env.name
        with conn.transaction():
            if key not in self._plans:
                self._plans[key] = plan(conn, env)
            return run(conn, self._plans[key])

    def empty(self, target: Target) -> tuple[str, ...]:
        """Empty the tables a committing test filled (seed rows are put back)."""
        return self._empty_on(self.connection(target), target.env)

    def keep(self, target: Target, nodeid: str) -> str | None:
        """Copy ``target``'s database (holding a failed test's rows) aside; its name."""
        if target.env.isolation != "database":
            return None
        from dbenv.lifecycle.swap import terminate as _terminate
        from dbenv.lifecycle.template import connect_maintenance
        from dbenv.target import Target as Resolved

        self._release(target.configured.name)
        copy = failed_copy(target.database, nodeid)
        project = self.project()
        with connect_maintenance(Resolved.of(target.configured), project, "pytest") as maint:
            databases.refuse_unless_kept(maint, project, target.env, copy)
            maint.execute(f"DROP DATABASE IF EXISTS {databases.ident(copy)} WITH (FORCE)")
            _terminate(maint, target.database)
            maint.execute(
                f"CREATE DATABASE {databases.ident(copy)} "
                f"TEMPLATE {databases.ident(target.database)}"
            )
        self.kept.append(copy)
        return copy

    def _release(self, name: str) -> None:
        self._sent.discard(name)
        conn = self._conns.pop(name, None)
        if conn is not None and not conn.closed:
            conn.close()
        engine = self._engines.get(name)
        if engine is not None:
            engine.dispose()

    def finish(self) -> None:
        """End of session: close connections; without reuse drop what this worker made."""
        for name in list(self._conns) + list(self._engines):
            self._release(name)
        self._engines.clear()
        if self.options.reuse:
            return
        from dbenv.lifecycle.template import connect_maintenance
        from dbenv.target import Target as Resolved

        for target in self._targets.values():
            if target.template is None:
                continue
            with connect_maintenance(
                Resolved.of(target.configured), self.project(), "pytest"
            ) as maint:
                if self.worker.id is not None:
                    maint.execute(
                        f"DROP DATABASE IF EXISTS {databases.ident(target.database)} WITH (FORCE)"
                    )
                databases.drop_templates(maint, target.template)
