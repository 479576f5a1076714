"""CLI for moving data between environments: ``sync``, ``dump``, ``restore``, ``clone``.

Each command parses, calls its ``dbenv.commands.sync`` function and renders the
result: a Rich progress bar per table (rows and bytes) on stderr while it runs,
a summary on stdout, ``--json`` for scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dbenv.cli.app import app, err, err_console, get_project, handle_errors, out, print_json
from dbenv.cli.topology_output import (
    ReplicaNumberOption,
    ReplicaOption,
    replica_lines,
    replica_number,
)

if TYPE_CHECKING:
    from dbenv.commands.sync import SyncEvent, SyncResult

__all__ = ["clone_command", "dump_command", "restore_command", "sync_command"]

IMeanIt = Annotated[
    str | None,
    typer.Option("--i-mean-it", help="Override a guard refusal by naming the target database."),
]


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


class _Bars:
    """A Rich progress bar per table, fed by the sync's progress events."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]}"),
            TimeElapsedColumn(),
            console=err_console(),
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def stop(self) -> None:
        if self.progress.live.is_started:
            self.progress.stop()

    def __call__(self, event: SyncEvent) -> None:
        if not self.progress.live.is_started:
            self.progress.start()  # only once work begins: a refusal prints no empty bar
        if event.phase == "wait":
            self.progress.console.print(event.message)
            return
        if event.phase == "structure":
            if event.rows:
                self.progress.console.print(f"structure: {event.rows} statement(s)")
            return
        if event.phase == "rebuild":
            self.progress.console.print("building keys and indexes, validating foreign keys")
            return
        if event.phase == "start":
            self.tasks[event.table] = self.progress.add_task(
                event.table, total=max(event.total_bytes, 1), rows=""
            )
        task = self.tasks.get(event.table)
        if task is None:
            return
        if event.phase == "copy":
            self.progress.update(
                task, completed=event.bytes, total=max(event.total_bytes, event.bytes, 1)
            )
        elif event.phase == "done":
            self.progress.update(
                task, completed=event.bytes, total=max(event.bytes, 1), rows=f"{event.rows} rows"
            )
        elif event.phase == "verify":
            self.progress.update(task, rows=f"{event.rows} rows, verifying")


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Repeated options, each of which may also be a comma-separated list."""
    return tuple(
        part.strip() for value in values or () for part in value.split(",") if part.strip()
    )


def _render_sync(result: SyncResult) -> None:
    verb = "would sync" if result.dry_run else "synced"
    out(f"{verb} {result.source} -> {result.target} (profile {result.profile})")
    for step in result.structure:
        out(f"  structure: {step.action} {step.target} [hazard: {step.hazard}]")
    for table in result.tables:
        if table.policy == "structure":
            out(f"  {table.table}: structure only")
            continue
        extra = []
        if table.masked:
            extra.append("masked " + ", ".join(table.masked))
        if table.condition:
            extra.append("subset")
        note = f" ({'; '.join(extra)})" if extra else ""
        if result.dry_run:
            out(f"  {table.table}: mirror, about {_size(table.bytes)}{note}")
        else:
            check = "checksum ok" if table.verified else "not verified"
            out(f"  {table.table}: {table.rows} rows, {_size(table.bytes)}, {check}{note}")
    if not result.dry_run:
        for seq, value in result.sequences.items():
            out(f"  sequence {seq} set to {value}")
        out(f"{result.rows} rows, {_size(result.bytes)} in {result.seconds:.2f} s")


@app.command("sync")
@handle_errors
def sync_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The environment to read from.")],
    target: Annotated[str, typer.Argument(help="The environment to replace tables in.")],
    profile: Annotated[
        str | None, typer.Option("--profile", help="A [sync.profiles.NAME].")
    ] = None,
    tables: Annotated[
        list[str] | None,
        typer.Option(
            "--tables", help="Only these schema.table patterns (repeatable or comma-separated)."
        ),
    ] = None,
    structure_only: Annotated[
        list[str] | None,
        typer.Option("--structure-only", help="Copy only the structure of these (repeatable)."),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            metavar="TABLE=CONDITION",
            help="Copy only these rows of a mirrored table, plus the foreign-key parents"
            " they need (repeatable).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; change nothing.")
    ] = False,
    allow_destructive: Annotated[
        bool, typer.Option("--allow-destructive", help="Run structure steps that lose data.")
    ] = False,
    no_mask: Annotated[
        bool, typer.Option("--no-mask", help="Copy personal data unmasked (needs --i-mean-it).")
    ] = False,
    i_mean_it: IMeanIt = None,
    json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    replica: ReplicaOption = False,
    replica_n: ReplicaNumberOption = None,
) -> None:
    """Copy tables from SOURCE to TARGET: structure first, then rows, in one transaction."""
    from dbenv.commands.sync import result_json, source_on_replica, sync

    number = replica_number(replica, replica_n)
    project = get_project(ctx)
    bars = None if json or dry_run else _Bars()
    kwargs: dict[str, Any] = {
        "profile": profile,
        "tables": _split(tables),
        "structure_only": _split(structure_only),
        "where": tuple(where or ()),  # never split on commas: a condition may hold one
        "dry_run": dry_run,
        "allow_destructive": allow_destructive,
        "no_mask": no_mask,
        "override": i_mean_it,
        "progress": bars,
    }
    src, dst = project.environment(source), project.environment(target)
    read = None
    if number is not None:  # SOURCE only: TARGET is written, on its primary
        src, read = source_on_replica(src, number)
        if not json:
            for line in replica_lines(read):
                err(line)
    try:
        result = sync(project, src, dst, **kwargs)
    finally:
        if bars is not None:
            bars.stop()
    if json:
        print_json({**result_json(result), "replica_read": read.to_dict() if read else None})
    else:
        _render_sync(result)


@app.command("dump")
@handle_errors
def dump_command(
    ctx: typer.Context,
    env: Annotated[str, typer.Argument(help="The environment to dump.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="The file (or directory with -j).")
    ] = None,
    schema_only: Annotated[bool, typer.Option("--schema-only", help="Structure only.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "-j",
            "--jobs",
            help="Parallel jobs (> 1: directory format). Default: 1, or several for a"
            " database over 1 GiB dumped without -o.",
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Dump ENV's database with pg_dump (custom format; -j N: parallel directory format)."""
    from dbenv.commands.sync import dump, result_json

    project = get_project(ctx)
    result = dump(
        project,
        project.environment(env),
        output=output,
        schema_only=schema_only,
        jobs=jobs,
        progress=None if json else err,
    )
    if json:
        print_json(result_json(result))
    else:
        out(
            f"dumped {result.environment} to {result.path} ({result.format},"
            f" {_size(result.bytes)}, {result.seconds:.2f} s)"
        )


@app.command("restore")
@handle_errors
def restore_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A file or directory dbenv dump wrote.")],
    env: Annotated[str, typer.Argument(help="The environment whose database it replaces.")],
    jobs: Annotated[int, typer.Option("-j", "--jobs", help="Parallel pg_restore jobs.")] = 2,
    no_mask: Annotated[
        bool,
        typer.Option(
            "--no-mask", help="Restore a protected environment's dump (needs --i-mean-it)."
        ),
    ] = False,
    i_mean_it: IMeanIt = None,
    json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replace ENV's database by a dump (guarded), stamped as ENV so it is never the source."""
    from dbenv.commands.sync import restore, result_json

    project = get_project(ctx)
    result = restore(
        project,
        file,
        project.environment(env),
        jobs=jobs,
        no_mask=no_mask,
        override=i_mean_it,
        progress=None if json else err,
    )
    if json:
        print_json(result_json(result))
    else:
        out(
            f"restored {file} into {result.environment} ({result.database}) in"
            f" {result.seconds:.2f} s; stamped as {result.environment}"
        )


@app.command("clone")
@handle_errors
def clone_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The environment to copy.")],
    target: Annotated[str, typer.Argument(help="The environment whose database it replaces.")],
    method: Annotated[str, typer.Option("--method", help="auto | template | logical.")] = "auto",
    no_mask: Annotated[
        bool, typer.Option("--no-mask", help="Copy personal data unmasked (needs --i-mean-it).")
    ] = False,
    i_mean_it: IMeanIt = None,
    json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replace TARGET's database by a copy of SOURCE's (template if possible, masked if due)."""
    from dbenv.commands.sync import clone, result_json

    project = get_project(ctx)
    result = clone(
        project,
        project.environment(source),
        project.environment(target),
        method=method,
        no_mask=no_mask,
        override=i_mean_it,
        progress=None if json else err,
    )
    if json:
        print_json(result_json(result))
        return
    how = f"template, STRATEGY {result.strategy}" if result.method == "template" else "logical"
    masked = ", masked" if result.masked else ""
    out(f"cloned {result.source} -> {result.target} ({how}{masked}) in {result.seconds:.2f} s")
