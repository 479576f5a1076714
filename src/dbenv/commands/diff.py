"""``dbenv diff``: compare two schemas, and optionally apply the plan to the target.

``diff_schemas`` reads both sides and plans; ``apply_diff`` runs a plan on the
target, through the guard when the target is an environment — or a URL naming a
configured environment's database — and otherwise only with
``--i-mean-it=<database>``, after a safety snapshot, journaled locally. Statements
that lose data are refused unless ``allow_destructive``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dbenv.diff.model import filter_model
from dbenv.diff.plan import Plan, build_plan
from dbenv.errors import GuardRefusal, UsageError
from dbenv.sources.scratch import choose_scratch
from dbenv.sources.sides import Side, read_side, resolve_side

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Environment, Secret
    from dbenv.diff.model import SchemaModel
    from dbenv.status.replica_read import ReplicaRead

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DiffResult:
    """What ``dbenv diff`` found: the plan bringing ``target`` to ``source``."""

    source: Side
    target: Side
    plan: Plan
    applied: int | None = None  # statements run, when --apply
    # the sides read from a replica (``--replica``), with their lag
    replica_reads: tuple[ReplicaRead, ...] = ()

    @property
    def drift(self) -> bool:
        return self.plan.drift


def diff_schemas(
    source: str,
    target: str,
    *,
    project: Callable[[], Project] | None = None,
    root: Path | None = None,
    schemas: tuple[str, ...] = (),
    exclude_schemas: tuple[str, ...] = (),
    scratch: Secret | str | None = None,
    owners: bool = False,
    concurrently: bool = False,
    replica: int | None = None,
    for_apply: bool = False,
    progress: Progress | None = None,
) -> DiffResult:
    """Plan the statements that make ``target``'s schema match ``source``'s.

    ``scratch``: where schema sources are built (``--scratch ENV|URL``); without
    it, a disposable environment of the project (``dbenv.sources.scratch``).
    ``replica``: read the environment sides that declare replicas from their
    replica of that number — never the target of ``--apply`` (``for_apply``): a
    plan is made from what it changes.
    """
    src = resolve_side(source, project=project, root=root)
    dst = resolve_side(target, project=project, root=root)
    reads: tuple[ReplicaRead, ...] = ()
    if replica is not None:
        src, dst, reads = _on_replicas(src, dst, replica, for_apply)
    server = choose_scratch((src, dst), scratch=scratch, project=project)
    from concurrent.futures import ThreadPoolExecutor

    # a schema source is built with the extensions the environment it meets was
    # provisioned with (models and SQL files seldom create them)
    provisioned = tuple(
        name for side in (src, dst) if side.env is not None for name in side.env.extensions
    )

    def read(side: Side) -> SchemaModel:
        if progress:
            progress(f"reading {side.label}")
        extensions = provisioned if side.source is not None else ()
        model = read_side(side, scratch=server, extensions=extensions, progress=progress)
        return filter_model(model, schemas=schemas, exclude=exclude_schemas)

    # The two servers (or databases) answer their catalog queries side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        wanted, current = pool.map(read, (src, dst))
    plan = build_plan(wanted, current, owners=owners, concurrently=concurrently)
    return DiffResult(src, dst, plan, replica_reads=reads)


def _on_replicas(
    src: Side, dst: Side, number: int, for_apply: bool
) -> tuple[Side, Side, tuple[ReplicaRead, ...]]:
    """The sides with replica ``number`` in place of each eligible environment's primary."""
    from dbenv.status.replica_read import read_of, replica_url

    eligible = (src,) if for_apply else (src, dst)
    if not any(side.env is not None and side.env.replicas for side in eligible):
        apart = "; the target of --apply is read from its primary" if for_apply else ""
        raise UsageError(
            f"--replica: no side of the diff is an environment that declares replicas{apart}.",
            hint="Name an environment with replicas, or leave out --replica.",
        )
    reads = []
    sides = []
    for index, side in enumerate((src, dst)):
        env = side.env
        if index < len(eligible) and env is not None and env.replicas:
            side = replace(side, url=replica_url(env, number), replica=number)
            reads.append(read_of(env, number))
        sides.append(side)
    return sides[0], sides[1], tuple(reads)


def _refuse_data_loss(plan: Plan, allow_destructive: bool) -> None:
    lossy = plan.destructive
    if lossy and not allow_destructive:
        names = ", ".join(sorted({s.target for s in lossy})[:5])
        raise GuardRefusal(
            f"the plan has {len(lossy)} statement(s) that lose data ({names}); "
            "nothing was applied.",
            check="destructive-statements",
            hint="Review them with --sql, then pass --allow-destructive to apply them.",
        )


def apply_diff(
    result: DiffResult,
    *,
    project: Project | None = None,
    allow_destructive: bool = False,
    override: str | None = None,
    progress: Progress | None = None,
) -> DiffResult:
    """Run ``result.plan`` on its target (guarded); returns the result with ``applied``."""
    from dbenv.diff.apply import apply_plan

    target = result.target
    if target.source is not None:
        raise UsageError(
            f"cannot apply to {target.spec}: it is a schema source, not a database.",
            hint="Make the TARGET an environment name or a URL.",
        )
    if target.replica is not None:
        raise UsageError(
            f"cannot apply to {target.label}: a replica is read-only.",
            hint="Apply to the environment itself (its primary), without --replica on it.",
        )
    _refuse_data_loss(result.plan, allow_destructive)
    if result.plan.empty:
        return replace(result, applied=0)
    say = (lambda s: progress(f"{s.action} {s.target}")) if progress else None
    env = target.env
    if env is None and project is not None and target.url is not None:
        env = _environment_at(project, target.url)  # a URL is no way around the guard
    if env is None and target.url is not None:
        from dbenv.safety.replicas import refuse_replica_url

        refuse_replica_url(project, target.url, target.label, "diff-apply")
    if env is not None and project is not None:
        from dbenv.safety import guard

        with guard.destructive(
            project, env, "diff-apply", override=override, progress=progress
        ) as g:
            if g.conn.info.transaction_status != 0:
                g.conn.commit()
            count = apply_plan(g.conn, result.plan, progress=say)
            g.record(count)
        return replace(result, applied=count)
    applied = _apply_to_url(result, project, override, say, progress)
    return replace(result, applied=applied)


def _environment_at(project: Project, url: Secret | str) -> Environment | None:
    """The configured environment whose database ``url`` names (None: none does)."""
    from dbenv.config.model import Secret
    from dbenv.errors import DbenvError
    from dbenv.safety.checks import server_target, url_target

    wanted = url_target(url.masked if isinstance(url, Secret) else url)
    if wanted is None:
        return None
    matches = []
    for name in project.environment_names:
        try:
            env = project.environment(name)
        except DbenvError:
            continue  # an environment that does not resolve names no database
        found = server_target(env)
        # a plan changes the whole database: only an environment that owns the
        # database (not a schema or prefix in it) stands for the URL
        if found is not None and found.same_database(wanted) and env.isolation == "database":
            matches.append(env)
    # several: the protected one's guard decides
    return min(matches, key=lambda e: e.tier != "protected", default=None)


def _apply_to_url(
    result: DiffResult,
    project: Project | None,
    override: str | None,
    say: object,
    progress: Progress | None,
) -> int:
    """A URL no environment names: demand its database name, snapshot it, journal it."""
    from dbenv.backends import postgres
    from dbenv.config.model import Environment
    from dbenv.diff.apply import apply_plan
    from dbenv.safety import journal
    from dbenv.safety.snapshot import take_snapshot

    url = result.target.url
    assert url is not None
    database = postgres.url_parts(url).get("dbname", "")
    if override != database:
        raise GuardRefusal(
            f"applying to the URL {result.target.label} needs --i-mean-it={database}; "
            "nothing was applied.",
            check="override",
            hint="Pass --i-mean-it with the target database's name, or use an environment name.",
        )
    root = project.root if project is not None else Path.cwd()
    unknown = Environment(name="url", project=project.name if project else "", root=root)
    if progress:
        progress(f"override for '{database}': taking a safety snapshot first")
    snapshot = take_snapshot(unknown, url, root)
    entry = journal.JournalEntry(
        operation="diff-apply",
        project=unknown.project,
        environment=result.target.label,
        outcome="ok",
        os_user=journal.os_user(),
        host=journal.host_name(),
        override=database,
        snapshot=str(snapshot),
    )
    try:
        with postgres.connect(url, autocommit=True, application_name="dbenv diff") as c:
            count = apply_plan(c, result.plan, progress=say)  # type: ignore[arg-type]
    except BaseException as exc:
        journal.write_local(root, replace(entry, outcome="failed", detail=type(exc).__name__))
        raise
    journal.write_local(root, replace(entry, rows=count))
    return count
