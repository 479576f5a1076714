"""What a killed dbenv may have left on a server, told apart from builds still running.

Swap copies (``<target>_dbenv_new`` / ``_dbenv_old``, ``dbenv.lifecycle.swap``),
half-built templates (``dbenv_tpl_<project>_<fingerprint>_build``,
``dbenv.lifecycle.template``) and diff's scratch databases
(``dbenv.sources.scratch``). A builder holds an advisory lock named after its
database while it builds, so ``pg_locks`` says which ones are still in use.
``dbenv status`` lists the rest; the next operation on the target drops them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbenv.backends.postgres import lock_key
from dbenv.lifecycle.swap import aside_names
from dbenv.lifecycle.template import template_name
from dbenv.sources.scratch import SCRATCH

if TYPE_CHECKING:
    import psycopg

# what a killed dbenv may leave on a server (LIKE patterns; ``_`` escaped)
LEFTOVER_PATTERNS = (
    r"%\_dbenv\_new",
    r"%\_dbenv\_old",
    r"dbenv\_tpl\_%\_build",
    r"dbenv\_diff\_scratch\_%",
)


def leftovers(conn: psycopg.Connection[Any], database: str, project: str) -> tuple[str, ...]:
    """What a killed dbenv left on ``conn``'s server that concerns ``database``/``project``:
    its swap copies, the project's half-built templates, and scratch databases no
    running diff holds (read from ``pg_locks``: no lock is taken)."""
    mine = set(aside_names(database))
    stem = template_name(project, "")
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE ANY(%s) ORDER BY 1",
        [list(LEFTOVER_PATTERNS)],
    ).fetchall()
    held = {
        (int(r[0]) << 32) | int(r[1])
        for r in conn.execute(
            "SELECT classid::bigint, objid::bigint FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        ).fetchall()
    }

    def busy(lock: str) -> bool:  # its builder is running
        return lock_key(lock) & 0xFFFFFFFFFFFFFFFF in held

    found = []
    for (name,) in rows:
        if name.startswith(SCRATCH):
            found += [] if busy(name) else [name]
        elif name.startswith(stem) and name.endswith("_build"):
            found += [] if busy(name.removesuffix("_build")) else [name]
        elif name in mine:
            found.append(name)
    return tuple(found)
