"""CLI for configuration: ``init``, ``envs``, ``config show/get``, ``run``, ``check``, ``scan``.

Each command parses, calls its ``dbenv.commands.config`` function and renders the
result; everything printed goes through the masked output of ``dbenv.cli.app``.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dbenv.cli.app import (
    app,
    err,
    get_project,
    handle_errors,
    out,
    out_console,
    print_json,
    reveal,
)
from dbenv.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from dbenv.commands.config import ConfigShowResult, ShownValue
    from dbenv.config.model import Environment
    from dbenv.doctor.findings import CheckReport

__all__ = ["config_app"]

config_app = typer.Typer(
    name="config", help="Show an environment's configuration.", no_args_is_help=True
)
app.add_typer(config_app, name="config")

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON (masked).")]


@app.command("init")
@handle_errors
def init_command(
    directory: Annotated[
        Path, typer.Argument(help="Where to write dbenv.toml (default: here).")
    ] = Path("."),
    name: Annotated[
        str | None, typer.Option(help="Project name (default: the directory's).")
    ] = None,
) -> None:
    """Write dbenv.toml, .env.example and .gitignore entries (never overwrites dbenv.toml)."""
    from dbenv.commands.config import init

    result = init(directory, name=name)
    for path in result.written:
        out(f"wrote {path}")
    for path in result.skipped:
        out(f"kept {path} (already there)")
    if result.gitignore_added:
        out(f"added to .gitignore: {' '.join(result.gitignore_added)}")
    out("Next: edit dbenv.toml, then run `dbenv envs` and `dbenv check`.")


@app.command("envs")
@handle_errors
def envs_command(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the environments: tier, isolation and masked targets; * marks the active one."""
    from dbenv.commands.config import envs

    result = envs(get_project(ctx))
    if json:
        print_json(
            {
                "project": result.project,
                "active": result.active,
                "environments": [row.__dict__ for row in result.rows],
            }
        )
    else:
        selected = "* active" if result.active else "none active: no selector set, no default"
        out(f"{result.project}: environments ({selected})")
        table = Table()
        for column in ("", "name", "tier", "isolation"):
            table.add_column(column, no_wrap=True)
        table.add_column("database", overflow="fold")
        table.add_column("redis", overflow="fold")
        for row in result.rows:
            database = row.target if row.error is None else f"error: {row.error}"
            marker = "*" if row.active else ""
            table.add_row(marker, row.name, row.tier, row.isolation, database, row.redis)
        out_console().print(table)
    if result.failed:
        names = ", ".join(row.name for row in result.failed)
        err(f"dbenv: environments that do not resolve: {names} (see `dbenv check`).")
        raise typer.Exit(2)


def _value_rows(title: str, values: tuple[ShownValue, ...], *, origin: bool) -> Table:
    table = Table()
    table.add_column("key")
    table.add_column("value", overflow="fold")
    if origin:
        table.add_column("origin")
    for value in values:
        cells = [value.key, value.value]
        if origin:
            via = "".join(f"\n  ${{{name}}} from {where}" for name, where in value.parts)
            cells.append(value.origin + via)
        table.add_row(*cells)
    return table


def _render_show(result: ConfigShowResult, *, origin: bool) -> None:
    console = out_console()
    active = " (active)" if result.active else ""
    console.print(f"{result.project} · environment {result.environment}{active}", markup=False)
    if origin:
        from dbenv.commands.config import LAYERS

        out("layers, lowest first: " + " < ".join(LAYERS))
    sections = (
        ("settings", result.settings),
        ("variables", result.variables),
        ("exported by `dbenv run` (over the variables)", result.exports),
    )
    for title, values in sections:
        out(title)
        console.print(_value_rows(title, values, origin=origin))


@config_app.command("show")
@handle_errors
def config_show_command(
    ctx: typer.Context,
    environment: Annotated[str | None, typer.Argument(help="Default: the active one.")] = None,
    origin: Annotated[
        bool, typer.Option("--origin", help="Show where each value came from.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Show an environment's settings and variables (masked), optionally with origins."""
    from dbenv.commands.config import config_show

    result = config_show(get_project(ctx), environment)
    if json:
        print_json(result.as_dict(origin=origin))
    else:
        _render_show(result, origin=origin)


@config_app.command("get")
@handle_errors
def config_get_command(
    ctx: typer.Context,
    environment: Annotated[str, typer.Argument(help="The environment.")],
    key: Annotated[str, typer.Argument(help="A variable (LOG_LEVEL) or setting (database_url).")],
    reveal_value: Annotated[
        bool, typer.Option("--reveal", help="Print a secret in plain text (for scripts).")
    ] = False,
) -> None:
    """Print one value, masked unless --reveal."""
    from dbenv.commands.config import config_get

    result = config_get(get_project(ctx), environment, key, reveal=reveal_value, revealer=reveal)
    if result.revealed:
        # Asked for in so many words: the one output that is not scrubbed.
        sys.stdout.write(result.value + "\n")
    else:
        out(result.value)


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
@handle_errors
def run_command(
    ctx: typer.Context,
    environment: Annotated[str, typer.Argument(help="The environment to run in.")],
    command: Annotated[
        list[str] | None, typer.Argument(help="The command, after --.", show_default=False)
    ] = None,
) -> None:
    """Run a command with ENV's variables, selector(s) and database URLs: dbenv run ENV -- CMD."""
    from dbenv.commands.config import run

    argv = [*(command or []), *ctx.args]
    result = run(get_project(ctx), environment, argv, revealer=reveal)
    raise typer.Exit(result.exit_code)


FormatOption = Annotated[
    str | None, typer.Option("--format", help="text (default), json or sarif (SARIF 2.1.0).")
]
BaselineOption = Annotated[
    Path | None,
    typer.Option("--baseline", help="Accept the findings recorded in this baseline file."),
]
WriteBaselineOption = Annotated[
    bool, typer.Option("--write-baseline", help="Record today's findings in --baseline FILE.")
]
VerifyOption = Annotated[
    bool,
    typer.Option(
        "--verify", help="Try found URL passwords (1 s, read-only) on declared hosts only."
    ),
]
StrictOption = Annotated[bool, typer.Option("--strict", help="Warnings fail too.")]


def _finish(
    report: CheckReport,
    *,
    fmt: str,
    baseline: Path | None,
    write_baseline: bool,
    strict: bool,
    summary: Callable[[CheckReport], str],
) -> None:
    """Baseline, render, exit: 1 on errors (on warnings too with --strict), else 0."""
    from dbenv.cli.doctor_output import render_report
    from dbenv.doctor.baseline import apply_baseline, read_baseline
    from dbenv.doctor.baseline import write_baseline as write

    if write_baseline:
        if baseline is None:
            raise UsageError(
                "--write-baseline needs --baseline FILE to know where to write.",
                hint="For example: --baseline .dbenv-baseline.json --write-baseline",
            )
        count = write(baseline, report.findings)
        out(f"wrote {count} finding(s) to the baseline {baseline}.")
        return
    if baseline is not None:
        report = apply_baseline(report, read_baseline(baseline), label=str(baseline))
    render_report(report, fmt, summary=summary(report))
    if report.errors or (strict and report.warnings):
        raise typer.Exit(1)


def _check_summary(report: CheckReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    envs = ", ".join(report.environments)
    return (
        f"checked {envs}; scanned {report.files_scanned} files: "
        f"{errors} error(s), {warnings} warning(s)."
    )


def _scan_summary(report: CheckReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    what = (
        f"{report.commits_scanned} commit(s)"
        if report.commits_scanned is not None
        else f"{report.files_scanned} files"
    )
    return (
        f"scanned {what}: {len(report.findings)} credential(s) found "
        f"({errors} error(s), {warnings} warning(s))."
    )


@app.command("check")
@handle_errors
def check_command(
    ctx: typer.Context,
    environments: Annotated[
        list[str] | None, typer.Argument(help="Environments to check (default: all).")
    ] = None,
    json: JsonOption = False,
    fmt: FormatOption = None,
    scan: Annotated[
        list[Path] | None,
        typer.Option("--scan", help="Scan these files/directories for credentials instead."),
    ] = None,
    strict: StrictOption = False,
    baseline: BaselineOption = None,
    write_baseline: WriteBaselineOption = False,
    verify: VerifyOption = False,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Do not connect to read the stamps' tiers."),
    ] = False,
) -> None:
    """The doctor: missing variables, shared databases, TLS, env files, leaked credentials,
    tiers the stamps contradict (read-only; --offline skips them).

    Exit 0 when clean (warnings allowed unless --strict), 1 when problems, 2 bad input.
    """
    from dbenv.cli.doctor_output import chosen_format
    from dbenv.commands.config import check

    chosen = chosen_format(fmt, json=json)
    report = check(
        get_project(ctx),
        environments or [],
        scan=scan or [],
        verify=verify,
        stamps=not offline,
    )
    _finish(
        report,
        fmt=chosen,
        baseline=baseline,
        write_baseline=write_baseline,
        strict=strict,
        summary=_check_summary,
    )


def _project_envs(ctx: typer.Context) -> tuple[list[Environment], str | None]:
    """The project's environments when there is a project (scan needs none)."""
    from dbenv.errors import ConfigError, ProjectNotFound

    try:
        project = get_project(ctx)
    except ProjectNotFound:
        return [], None
    except ConfigError as error:
        return [], f"the project file was not read ({error.message}); hosts are not matched."
    envs = []
    for name in project.environment_names:
        try:
            envs.append(project.environment(name))
        except ConfigError:
            continue  # an environment that does not resolve names no host we can read
    return envs, None


@app.command("scan")
@handle_errors
def scan_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or directories (default: the files git tracks here)."),
    ] = None,
    json: JsonOption = False,
    fmt: FormatOption = None,
    strict: StrictOption = False,
    baseline: BaselineOption = None,
    write_baseline: WriteBaselineOption = False,
    verify: VerifyOption = False,
    history: Annotated[
        bool, typer.Option("--history", help="Scan every commit's added lines instead.")
    ] = False,
    budget: Annotated[
        float, typer.Option("--budget", help="Seconds --history may take (default 120).")
    ] = 120.0,
) -> None:
    """Find credentials written into files (no project file needed), masked.

    Exit 0 when none or only warnings (a development password; --strict fails on
    them too), 1 when an error-level credential is found, 2 bad input.
    """
    from dbenv.cli.doctor_output import chosen_format, progress_printer
    from dbenv.commands.scan import scan

    chosen = chosen_format(fmt, json=json)
    envs, problem = _project_envs(ctx)
    report = scan(
        paths or [],
        cwd=Path.cwd(),
        envs=envs,
        verify=verify,
        history=history,
        budget=budget,
        progress=progress_printer() if history else None,
    )
    if problem:
        report = replace(report, notes=(*report.notes, problem))
    _finish(
        report,
        fmt=chosen,
        baseline=baseline,
        write_baseline=write_baseline,
        strict=strict,
        summary=_scan_summary,
    )
