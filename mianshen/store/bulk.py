"""Moving many rows into the store at once: from DuckDB straight into a table (`from_duckdb`).

Millions of rows a run (case candidates, data requests, changes): SQLAlchemy's per-row parameter
processing would cost more than the database's own work, so rows go from DuckDB to the driver in
chunks, into a temporary table, and set statements move them on from there.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def stamp(conn: Connection, column: Any, moment: Any) -> Any:
    """A value as `column`'s type stores it (SQLite keeps times as text SQLAlchemy formats itself)."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process(moment) if process else moment


def from_duckdb(
    conn: Connection, duck: Any, query: str, table: str, columns: Sequence[str], order: str | None = None
) -> int:
    """Append the rows of a DuckDB query (its columns named `columns`) to a store table, a chunk at a
    time straight to the driver: `executemany` on SQLite, `COPY` on PostgreSQL. Measured on 3M rows
    of six columns, faster than having DuckDB render each chunk as one JSON text for SQLite's
    `json_each` (8.6 s against 15.9 s) or as COPY text (2.2 s against 2.9 s per million).
    `order`: the order rows are appended in (the store's index order is cheapest to insert)."""
    result = duck.execute(f"SELECT {', '.join(columns)} FROM ({query}){' ORDER BY ' + order if order else ''}")
    names = ", ".join(columns)
    raw: Any = conn.connection.driver_connection
    count = 0
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            while batch := result.fetchmany(CHUNK):
                for row in batch:
                    copy.write_row(row)
                count += len(batch)
        return count
    cursor = raw.cursor()
    marks = ", ".join("?" * len(columns))
    while batch := result.fetchmany(CHUNK):
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
        count += len(batch)
    return count
