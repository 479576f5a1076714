"""CLI for the disposable-database lifecycle: provision, stamp, status, reset, seed, flush.

Each command parses, calls its ``dbenv.commands`` function and renders the result
(``--json`` for scripts); progress goes to stderr. Guard refusals exit 3 with the
failing check, what it found and the way out.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dbenv.cli.app import app, err, get_project, handle_errors, out, print_json
from dbenv.cli.topology_output import ReplicaNumberOption, ReplicaOption, replica_number

if TYPE_CHECKING:
    from dbenv.backends.redis import FlushResult
    from dbenv.status.report import EnvironmentStatus

__all__ = [
    "flush_command",
    "provision_command",
    "reset_command",
    "seed_command",
    "stamp_command",
    "status_command",
]

EnvArgument = Annotated[str, typer.Argument(help="The environment, as declared in dbenv.toml.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON (masked).")]
OverrideOption = Annotated[
    str | None,
    typer.Option(
        "--i-mean-it",
        metavar="DATABASE",
        help="Override failing guard checks for this database only (snapshot taken first).",
    ),
]


@app.command("provision")
@handle_errors
def provision_command(
    ctx: typer.Context, env: EnvArgument, i_mean_it: OverrideOption = None, json: JsonOption = False
) -> None:
    """Create the environment's role, database, grants, extensions and stamp (idempotent)."""
    from dbenv.commands.lifecycle import provision

    project = get_project(ctx)
    result = provision(
        project, project.environment(env), override=i_mean_it, progress=None if json else err
    )
    if json:
        data = asdict(result)
        data["complete"] = result.complete
        print_json(data)
    else:
        for line in result.unchanged:
            out(f"  {line}")
        if not result.changes:
            out(f"{env}: nothing to change")
        for line in result.skipped:
            out(f"skipped: {line}")
        for line in result.actions_required:
            out(f"operator action needed: {line}")
    if result.actions_required:
        raise typer.Exit(1)


@app.command("stamp")
@handle_errors
def stamp_command(
    ctx: typer.Context,
    env: EnvArgument,
    i_mean_it: OverrideOption = None,
    json: JsonOption = False,
    tier: Annotated[
        str | None,
        typer.Option(
            "--tier",
            metavar="TIER",
            help="The tier to stamp; must be the declared one. 'disposable' lowers a"
            " protected stamp (needs --i-mean-it, takes a snapshot).",
        ),
    ] = None,
) -> None:
    """(Re)write the stamp that says which project and environment a database belongs to."""
    from dbenv.commands.lifecycle import stamp

    project = get_project(ctx)
    result = stamp(
        project,
        project.environment(env),
        override=i_mean_it,
        progress=err,
        tier=tier,
    )
    if json:
        print_json(asdict(result))
        return
    tier_was, tier = result.previous_tier, result.stamp.tier
    lowered = f"; tier {tier_was} -> {tier}" if tier_was and tier_was != tier else ""
    out(
        f"stamped {result.database} as {result.stamp.project}/{result.stamp.environment}"
        f" (was: {result.previous}){lowered}"
    )
    if result.snapshot:
        out(f"safety snapshot: {result.snapshot}")


@app.command("status")
@handle_errors
def status_command(
    ctx: typer.Context,
    envs: Annotated[list[str] | None, typer.Argument(help="Environments (default: all).")] = None,
    json: JsonOption = False,
    replica: ReplicaOption = False,
    replica_n: ReplicaNumberOption = None,
) -> None:
    """Each environment's target, reachability, stamp, schema version, tables and clients."""
    from dbenv.commands.lifecycle import status

    number = replica_number(replica, replica_n)
    project = get_project(ctx)
    for name in envs or []:
        project.environment(name)  # an unknown name is bad input (exit 2)
    report = status(project, names=envs, replica=number)
    if json:
        print_json(report.to_dict())
        return
    _render_status(report.environments)


def _render_status(rows: tuple[EnvironmentStatus, ...]) -> None:
    from rich.table import Table

    from dbenv.cli.app import out_console
    from dbenv.cli.topology_output import replica_lines, topology_notes

    table = Table(
        "environment",
        "tier",
        "isolation",
        "target",
        "reachable",
        "stamp",
        "schema",
        "tables",
        "drift",
        "clients",
        "reset",
    )
    notes = []
    for row in rows:
        table.add_row(*_status_cells(row))
        if row.error:
            notes.append(f"{row.name}: {row.error}")
        drift = _drift_note(row)
        if drift:
            notes.append(drift)
        if row.mixed:
            notes.append(
                f"{row.name}: clients on this database declare different environments"
                f" ({', '.join(sorted(row.clients))}) — seed 000's mix-up?"
            )
        if row.leftovers:
            notes.append(
                f"{row.name}: left by an interrupted dbenv: {', '.join(row.leftovers)}"
                " (the next reset, restore, clone or diff drops them)"
            )
        if row.redis is not None:
            state = f"{row.redis.latency_ms} ms" if row.redis.reachable else row.redis.error
            notes.append(f"{row.name}: redis {row.redis.target}: {state}")
        if row.replica_read is not None:
            notes += replica_lines(row.replica_read)
        notes += topology_notes(row.name, row.topology)
    out_console().print(table)
    for note in notes:
        out(note)


def _status_cells(row: EnvironmentStatus) -> list[str]:
    reach = f"yes ({row.latency_ms} ms)" if row.reachable else "no"
    schema = row.alembic_revision or row.fingerprint or "-"
    clients = ", ".join(f"{k}: {v}" for k, v in sorted(row.clients.items())) or "-"
    if row.mixed:
        clients += " [MIXED]"
    return [
        row.name,
        row.tier,
        row.isolation,
        row.target or "-",
        reach,
        row.stamp_state or "-",
        schema,
        "-" if row.table_count is None else str(row.table_count),
        _drift_cell(row),
        clients,
        _reset_cell(row),
    ]


def _drift_cell(row: EnvironmentStatus) -> str:
    drift = row.drift
    if drift is None:
        return "-"
    if drift.statements is None:
        return "?"
    if not drift.drifted:
        return "none"
    text = f"{drift.statements} statement(s)"
    return text + (f" + {drift.unplanned} not compared" if drift.unplanned else "")


def _drift_note(row: EnvironmentStatus) -> str | None:
    drift = row.drift
    if drift is None or row.error:
        return None
    if drift.error:
        return f"{row.name}: drift from {drift.reference} unknown: {drift.error}"
    if drift.drifted:
        return (
            f"{row.name}: drift from {drift.reference}: {_drift_cell(row)}"
            f" (dbenv diff {drift.reference} {row.name})"
        )
    return None


def _reset_cell(row: EnvironmentStatus) -> str:
    if not row.reachable or row.error:
        return "-"
    if row.reset_refused_by:
        return "refused: " + ", ".join(row.reset_refused_by)
    return "allowed"


@app.command("reset")
@handle_errors
def reset_command(
    ctx: typer.Context,
    env: EnvArgument,
    data_only: Annotated[
        bool, typer.Option("--data-only", help="Empty tables, keep schema.")
    ] = False,
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="Table to keep (repeat).")
    ] = None,
    i_mean_it: OverrideOption = None,
    json: JsonOption = False,
) -> None:
    """Rebuild the environment's schema from its schema source (or empty its tables)."""
    from dbenv.commands import lifecycle_data

    project = get_project(ctx)
    result = lifecycle_data.reset(
        project,
        project.environment(env),
        data_only=data_only,
        override=i_mean_it,
        keep=keep or (),
        progress=None if json else err,
    )
    if json:
        print_json(lifecycle_data.result_json(result))
        return
    out(
        f"reset {result.environment} ({result.method}) in {result.seconds:.3f} s:"
        f" {len(result.tables)} tables verified"
    )
    if result.tables:
        out("tables: " + ", ".join(result.tables))
    for note in result.notes:
        out(f"note: {note}")


@app.command("seed")
@handle_errors
def seed_command(
    ctx: typer.Context,
    env: EnvArgument,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Seed files (default: seed_files).")
    ] = None,
    i_mean_it: OverrideOption = None,
    json: JsonOption = False,
) -> None:
    """Load JSON/YAML/CSV fixtures in foreign-key order, idempotently, in one transaction."""
    from dbenv.commands import lifecycle_data

    project = get_project(ctx)
    result = lifecycle_data.seed(
        project,
        project.environment(env),
        files or (),
        override=i_mean_it,
        progress=None if json else err,
    )
    if json:
        print_json(lifecycle_data.result_json(result))
        return
    changed = sum(result.changed.values())
    out(
        f"seeded {result.environment}: {result.rows} rows in {len(result.tables)} tables"
        f" ({changed} inserted or updated) in {result.seconds:.3f} s"
    )


@app.command("flush")
@handle_errors
def flush_command(
    ctx: typer.Context, env: EnvArgument, i_mean_it: OverrideOption = None, json: JsonOption = False
) -> None:
    """Clear the environment's Redis db (or its key prefix), never a protected one's."""
    from dbenv.commands.lifecycle import flush

    project = get_project(ctx)
    result = flush(
        project, project.environment(env), override=i_mean_it, progress=None if json else err
    )
    if json:
        print_json(asdict(result))
        return
    for part in (result, *result.roles):
        out(_flushed_line(part))


def _flushed_line(result: FlushResult) -> str:
    role = f" (Redis role '{result.role}')" if result.role else ""
    if result.masters:
        where = f"on the Redis Cluster's {result.masters} masters"
    else:
        where = f"in Redis db {result.db}"
    if result.prefix:
        return (
            f"flushed {result.environment}{role}: {result.keys_removed} keys with prefix"
            f" '{result.prefix}' {where}"
        )
    return f"flushed {result.environment}{role}: Redis db {result.db} ({result.keys_removed} keys)"
