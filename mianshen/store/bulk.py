"""Moving many rows into the store at once: temporary tables filled through the driver.

Millions of rows a run (case candidates, data requests, changes): SQLAlchemy's per-row parameter
processing would cost more than the database's own work, so rows go straight to the driver —
`COPY` on PostgreSQL, `executemany` on SQLite — into a temporary table, and set statements move
them on from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, text

CHUNK = 50_000


def temporary_table(conn: Connection, name: str, columns: str) -> None:
    """(Re)create a temporary table (`columns`: SQL column definitions); on PostgreSQL it goes with
    the transaction even if the caller fails before dropping it. On SQLite its freed pages are not
    zeroed (Debian builds SQLite with secure_delete on; nothing there outlives the connection)."""
    conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    if conn.dialect.name == "sqlite":
        conn.execute(text("PRAGMA temp.secure_delete = OFF"))
    suffix = " ON COMMIT DROP" if conn.dialect.name == "postgresql" else ""
    conn.execute(text(f"CREATE TEMPORARY TABLE {name} ({columns}){suffix}"))


def chunks(result: Any) -> Iterator[Sequence[tuple[Any, ...]]]:
    """Rows of a DB-API / DuckDB result, a bounded chunk at a time (memory stays flat)."""
    while batch := result.fetchmany(CHUNK):
        yield batch


def append_rows(
    conn: Connection, table: str, columns: Sequence[str], batches: Iterable[Sequence[tuple[Any, ...]]]
) -> int:
    """Append rows, already in the driver's types, to `table`; returns the count."""
    raw: Any = conn.connection.driver_connection
    names = ", ".join(columns)
    count = 0
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for batch in batches:
                for row in batch:
                    copy.write_row(row)
                count += len(batch)
        return count
    marks = ", ".join("?" * len(columns))
    cursor = raw.cursor()
    for batch in batches:
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
        count += len(batch)
    return count


def stamp(conn: Connection, column: Any, moment: Any) -> Any:
    """A value as `column`'s type stores it (SQLite keeps times as text SQLAlchemy formats itself)."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process(moment) if process else moment
