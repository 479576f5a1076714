"""CLI for schema compare: ``dbenv diff SOURCE TARGET``.

Parses, calls ``dbenv.commands.diff`` and renders the report, ``--sql`` or
``--json``. ``--exit-code`` makes drift exit 1 (a CI gate); ``--apply`` runs the
plan on TARGET through the guard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dbenv.cli.app import app, err, get_project, handle_errors, out, print_json
from dbenv.cli.topology_output import (
    ReplicaNumberOption,
    ReplicaOption,
    replica_lines,
    replica_number,
)

if TYPE_CHECKING:
    from dbenv.config import Project

__all__ = ["diff_command"]


@app.command("diff")
@handle_errors
def diff_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Desired schema: environment, URL or source.")],
    target: Annotated[str, typer.Argument(help="Schema to compare (and change with --apply).")],
    sql: Annotated[bool, typer.Option("--sql", help="Print the SQL script only.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the schemas differ (CI gate).")
    ] = False,
    schema: Annotated[
        list[str] | None, typer.Option("--schema", help="Only this schema (repeatable).")
    ] = None,
    exclude_schema: Annotated[
        list[str] | None, typer.Option("--exclude-schema", help="Leave out this schema.")
    ] = None,
    scratch: Annotated[
        str | None,
        typer.Option(
            "--scratch",
            "--scratch-url",
            metavar="ENV|URL",
            help="Disposable server to build schema sources on: an environment or an admin URL.",
        ),
    ] = None,
    owners: Annotated[bool, typer.Option("--owners", help="Compare object owners too.")] = False,
    concurrently: Annotated[
        bool, typer.Option("--concurrently", help="Build indexes CONCURRENTLY.")
    ] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Apply the plan to TARGET.")] = False,
    allow_destructive: Annotated[
        bool, typer.Option("--allow-destructive", help="Allow statements that lose data.")
    ] = False,
    i_mean_it: Annotated[
        str | None,
        typer.Option("--i-mean-it", metavar="DATABASE", help="Override for this database only."),
    ] = None,
    replica: ReplicaOption = False,
    replica_n: ReplicaNumberOption = None,
) -> None:
    """Compare two schemas; print the drift report and the SQL that brings TARGET to SOURCE."""
    from dbenv.commands.diff import apply_diff, diff_schemas
    from dbenv.diff.render import as_json, report

    def loader() -> Project:
        return get_project(ctx)

    number = replica_number(replica, replica_n)
    quiet = json or sql
    result = diff_schemas(
        source,
        target,
        project=loader,
        schemas=tuple(schema or ()),
        exclude_schemas=tuple(exclude_schema or ()),
        scratch=scratch,
        owners=owners,
        concurrently=concurrently,
        replica=number,
        for_apply=apply,
        progress=None if quiet else err,
    )
    if not json:  # on stderr: --sql's script stays a script
        for read in result.replica_reads:
            for line in replica_lines(read):
                err(line)
    if apply:
        result = apply_diff(
            result,
            project=loader() if result.target.env is not None else _project_if_any(ctx),
            allow_destructive=allow_destructive,
            override=i_mean_it,
            progress=None if quiet else err,
        )
    labels = {"source": result.source.label, "target": result.target.label}
    if json:
        data = as_json(result.plan, applied=result.applied, **labels)
        data["replica_reads"] = [read.to_dict() for read in result.replica_reads]
        print_json(data)
    elif sql:
        out(result.plan.sql().rstrip())
    else:
        out(report(result.plan, applied=result.applied is not None, **labels))
        if result.applied is not None:
            out(f"Applied {result.applied} statement(s) to {result.target.label}.")
    if exit_code and result.drift and result.applied is None:
        raise typer.Exit(1)


def _project_if_any(ctx: typer.Context) -> Project | None:
    """The project, when there is one (a URL target may match one of its environments)."""
    from dbenv.errors import ProjectNotFound

    try:
        return get_project(ctx)
    except ProjectNotFound:
        return None
