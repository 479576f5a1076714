"""Moving one table's rows: the source query, the COPY stream, and its verification.

The source query applies masking and the subset condition on the source server;
its rows go straight into the target's ``COPY ... FROM STDIN`` (binary when every
column's type allows it), never through a file. A checksum over the rows' text
— order-independent (a sum of per-row hashes) — is computed on both sides in the
same session settings, so the target can be compared with the source snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.sync.catalog import TableInfo, quote
from dbenv.sync.masking import MaskedColumn, select_expression

if TYPE_CHECKING:
    import psycopg

# both sides render rows identically, so their checksums can be compared
SESSION = (
    "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';"
    " SET extra_float_digits = 1; SET bytea_output = 'hex'"
)


class Stopped(Exception):
    """A worker thread was told to stop (the operation failed or was interrupted)."""


def cancel_until_done(conns: list[psycopg.Connection[Any]], futures: list[Any]) -> None:
    """Cancel what ``conns`` run until every future is done.

    One cancel is not enough: sent between two queries it is lost, and the next
    query runs to its end while Ctrl-C waits for the thread. Gives up after ~30 s
    (the threads are then left to the process's exit).
    """
    from concurrent.futures import wait

    for _ in range(120):
        for conn in conns:
            try:
                if not conn.closed:
                    _cancel(conn)
            except Exception:
                pass  # closed or lost meanwhile: nothing left to cancel
        _, pending = wait(futures, timeout=0.25)
        if not pending:
            return


def _cancel(conn: psycopg.Connection[Any]) -> None:
    safe = getattr(conn, "cancel_safe", None)  # psycopg 3.2+; 3.1 has the blocking one
    if safe is not None:
        safe(timeout=2)
    else:
        conn.cancel()


@dataclass(frozen=True)
class Checksum:
    rows: int
    digest: str


def source_query(info: TableInfo, columns: list[MaskedColumn], condition: str | None) -> str:
    """``SELECT <masked columns> FROM <table> t [WHERE <subset>]`` on the source."""
    items = ", ".join(select_expression(c, table=info.label) for c in columns)
    only = "" if info.partitioned else "ONLY "
    where = f" WHERE {condition}" if condition else ""
    return f"SELECT {items} FROM {only}{info.sql} t{where}"


def target_query(info: TableInfo) -> str:
    cols = ", ".join(quote(c.name) for c in info.columns)
    only = "" if info.partitioned else "ONLY "
    return f"SELECT {cols} FROM {only}{info.sql} t"


def checksum(conn: psycopg.Connection[Any], query: str, *, hashed: bool = False) -> Checksum:
    """Row count and an order-independent sum of row hashes over ``query``'s rows.

    ``hashed``: every column's type has an extended hash function, so rows are
    hashed as they are (``hash_record_extended``) instead of as text — faster.
    The two 32-bit halves are summed as integers (no numeric arithmetic per row).
    """
    value = "hash_record_extended(q, 0)" if hashed else "hashtextextended(q::text, 0)"
    row = conn.execute(
        f"SELECT count(*), coalesce(sum(h >> 32), 0)::text || ':' ||"
        f" coalesce(sum(h & 4294967295), 0)::text"
        f" FROM (SELECT {value} AS h FROM ({query}) q) r"
    ).fetchone()
    assert row is not None
    return Checksum(int(row[0]), str(row[1]))


def copy_table(
    source: psycopg.Connection[Any],
    target: psycopg.Connection[Any],
    info: TableInfo,
    query: str,
    *,
    on_bytes: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Stream ``query``'s rows into ``info`` on the target; returns (rows, bytes)."""
    fmt = "(FORMAT binary)" if info.binary else ""
    cols = ", ".join(quote(c.name) for c in info.columns)
    return postgres.copy_stream(
        source,
        target,
        f"COPY ({query}) TO STDOUT {fmt}",
        f"COPY {info.sql} ({cols}) FROM STDIN {fmt}",
        on_chunk=on_bytes,
    )
