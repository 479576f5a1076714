"""CLI for ``dbenv env``: what ``dbenv run`` gives a child, as dotenv, json, shell or docker.

Parses, calls ``dbenv.commands.env_export.env_export`` and renders: masked text
goes through the scrubbed stdout like every output; revealed text (asked for in so
many words) is written as is, or only named when it went to a file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dbenv.cli.app import app, err, get_project, handle_errors, out, reveal

__all__ = ["env_command"]


@app.command("env")
@handle_errors
def env_command(
    ctx: typer.Context,
    environment: Annotated[str | None, typer.Argument(help="Default: the active one.")] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="dotenv (default), json, shell or docker.")
    ] = "dotenv",
    reveal_values: Annotated[
        bool,
        typer.Option(
            "--reveal", help="Secrets in plain text: to a terminal, with --yes, or to --output."
        ),
    ] = False,
    confirmed: Annotated[
        bool, typer.Option("--yes", help="Confirm --reveal when stdout is a pipe or a file.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to FILE (mode 0600; never a path git would commit)."
        ),
    ] = None,
) -> None:
    """Print what `dbenv run ENV` gives the child (its variables, selectors and targets),
    masked unless --reveal, as an env file for Docker, Node's dotenv, systemd or a shell."""
    from dbenv.commands.env_export import env_export

    result = env_export(
        get_project(ctx),
        environment,
        fmt=fmt,
        reveal=reveal_values,
        confirmed=confirmed,
        to_terminal=sys.stdout.isatty(),
        output=output,
        revealer=reveal,
    )
    if result.node_differs:
        names = ", ".join(result.node_differs)
        err(
            f"dbenv: note: Node's dotenv keeps the backslash escapes of {names} "
            "(python-dotenv reads them back exactly); use --format json for Node."
        )
    shown = "revealed" if result.revealed else "masked"
    if result.output is not None:
        count = len(result.names)
        out(f"wrote {count} variable(s) of '{result.environment}' ({shown}) to {result.output}.")
    elif result.revealed:
        sys.stdout.write(result.text)  # asked for in so many words: not scrubbed
    elif result.text:
        out(result.text.removesuffix("\n"))
