"""CLI for the local stack: ``up``, ``down``, ``compose``.

Each command parses, calls its ``dbenv.commands.stack`` function and renders the
result; progress goes to stderr, the stack's state to stdout.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dbenv.cli.app import app, err, get_project, handle_errors, out, print_json

if TYPE_CHECKING:
    from dbenv.commands.stack import UpResult

__all__ = ["compose_command", "down_command", "up_command"]


def _render_up(result: UpResult) -> None:
    status = result.status
    state = status.state
    if state is not None and state.postgres is not None:
        pg = state.postgres
        out(
            f"PostgreSQL {pg.version}  127.0.0.1:{pg.port}  socket {pg.socket_dir}  "
            f"pid {pg.pid}  data {pg.data_dir}"
        )
    if state is not None and state.redis is not None:
        redis = state.redis
        out(f"Redis {redis.version}  127.0.0.1:{redis.port}  pid {redis.pid}")
    if state is not None and state.replica is not None:
        rep = state.replica
        out(
            f"replica (hot standby)  127.0.0.1:{rep.port}  socket {rep.socket_dir}  "
            f"pid {rep.pid}  data {rep.data_dir}"
        )
    if state is not None and state.pooler is not None:
        pooler = state.pooler
        out(
            f"PgBouncer {pooler.version}  127.0.0.1:{pooler.port}  pool mode "
            f"{pooler.pool_mode}  pid {pooler.pid}"
        )
    for db in result.databases:
        verb = "created" if db.created else "exists"
        out(f"database {db.database} (user {db.user}) for {db.environment}: {verb}")
        if db.url:
            out(f"  {db.url}")
    for notice in status.notices:
        out(f"note: {notice}")


@app.command("up")
@handle_errors
def up_command(
    ctx: typer.Context,
    no_redis: Annotated[bool, typer.Option("--no-redis", help="Do not start Redis.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
) -> None:
    """Start the local PostgreSQL (and Redis) and create the local environments' databases."""
    from dbenv.commands.stack import up

    result = up(get_project(ctx), no_redis=no_redis, progress=None if json else err)
    if json:
        state = result.status.state
        print_json(
            {
                "started": list(result.status.started),
                "created": result.status.created,
                "state": asdict(state) if state else None,
                "databases": [asdict(db) for db in result.databases],
                "notices": list(result.status.notices),
            }
        )
    else:
        _render_up(result)


@app.command("down")
@handle_errors
def down_command(
    ctx: typer.Context,
    purge: Annotated[
        bool,
        typer.Option("--purge", help="Also delete the data directory (only one dbenv created)."),
    ] = False,
) -> None:
    """Stop the local stack (fast shutdown); nothing is left running."""
    from dbenv.commands.stack import down

    result = down(get_project(ctx), purge=purge)
    if result.stopped:
        out("stopped pids " + ", ".join(str(pid) for pid in result.stopped))
    else:
        out("the local stack was not running")
    if result.purged is not None:
        out(f"deleted {result.purged}")


@app.command("compose")
@handle_errors
def compose_command(
    ctx: typer.Context,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Directory to write into (default: the project root)."),
    ] = None,
) -> None:
    """Write docker-compose.yml, a test overlay and the test database's init script."""
    from dbenv.commands.stack import compose

    result = compose(get_project(ctx), out=out_dir)
    for path in result.files:
        out(f"wrote {path}")
    for note in result.notes:
        out(f"note: {note}")
    variables = " ".join(db.password_var for db in (result.main, *result.test))
    out(f"Set {variables} in your (untracked) .env files, then:")
    out("  docker compose -f docker-compose.yml -f docker-compose.test.yml up -d")
