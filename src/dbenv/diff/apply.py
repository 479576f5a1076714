"""Run a plan's statements against the target connection, atomically where PostgreSQL allows.

Consecutive transactional statements run in one transaction; the few that cannot
(``CREATE INDEX CONCURRENTLY``, ``ALTER TYPE ... ADD VALUE`` whose value later
statements use) run on their own, in plan order. The caller decides whether the
plan may run at all (hazards, guard): this module only executes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dbenv.diff.plan import Plan, Statement
from dbenv.errors import OperationError
from dbenv.testpoint import reached

if TYPE_CHECKING:
    import psycopg


def _runs(plan: Plan) -> list[list[Statement]]:
    runs: list[list[Statement]] = []
    for stmt in plan.statements:
        if stmt.transactional and runs and runs[-1][0].transactional:
            runs[-1].append(stmt)
        else:
            runs.append([stmt])
    return runs


def _execute(conn: psycopg.Connection[Any], stmt: Statement) -> None:
    import psycopg

    try:
        conn.execute(stmt.sql.encode())
    except psycopg.Error as exc:
        reason = (exc.diag.message_primary or str(exc)).strip()
        raise OperationError(
            f"applying the plan failed at '{stmt.action} {stmt.target}': {reason}.",
            hint="Nothing of that transaction was applied; review the plan with --sql.",
        ) from None


def apply_plan(
    conn: psycopg.Connection[Any],
    plan: Plan,
    *,
    progress: Callable[[Statement], None] | None = None,
) -> int:
    """Execute ``plan`` on ``conn`` (set to autocommit here); returns statements run."""
    conn.autocommit = True
    done = 0
    for run in _runs(plan):
        if not run[0].transactional:
            _execute(conn, run[0])
            done += 1
            if progress:
                progress(run[0])
            continue
        with conn.transaction():
            conn.execute("SET LOCAL check_function_bodies = false")
            for stmt in run:
                _execute(conn, stmt)
                reached("diff-apply:applying")
                if progress:
                    progress(stmt)
        done += len(run)
    return done
