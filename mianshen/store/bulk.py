"""Moving many rows into the store at once: from DuckDB straight into a table (`from_duckdb`).

Millions of rows a run (case candidates, data requests, changes): SQLAlchemy's per-row parameter
processing would cost more than the database's own work, so rows go from DuckDB to the driver in
chunks, into a temporary table, and set statements move them on from there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text

CHUNK = 50_000
# An append of at least this many rows, and at least a quarter of what the table holds, drops the
# table's secondary indexes and builds them again afterwards (SQLite). Measured on 3M cases: 79 s
# appending into five indexes against 14 s appending + 13 s building them from sorted runs; an
# index kept up to date takes a random page write per row once it outgrows the cache.
REBUILD_ROWS = 200_000


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
    conn: Connection,
    duck: Any,
    query: str,
    table: str,
    columns: Sequence[str],
    order: str | None = None,
    constants: Mapping[str, str | int] | None = None,
) -> int:
    """Append the rows of a DuckDB query (its columns named `columns`) to a store table, a chunk at a
    time straight to the driver: `executemany` on SQLite, `COPY` on PostgreSQL. Measured on 3M rows
    of six columns, faster than having DuckDB render each chunk as one JSON text for SQLite's
    `json_each` (8.6 s against 15.9 s) or as COPY text (2.2 s against 2.9 s per million).
    `order`: the order rows are appended in (the store's index order is cheapest to insert).
    `constants`: columns with one value for every row (a run id, a time), written into the SQLite
    statement rather than carried through Python for each of millions of rows."""
    raw: Any = conn.connection.driver_connection
    count = 0
    fixed = dict(constants or {})
    ordered = f" ORDER BY {order}" if order else ""
    if conn.dialect.name == "sqlite":
        # counted before the rows are asked for: a second query on the connection ends a pending result
        adding = int(duck.execute(f"SELECT count(*) FROM ({query})").fetchone()[0])
        result = duck.execute(f"SELECT {', '.join(columns)} FROM ({query}){ordered}")
        names = ", ".join([*columns, *fixed])
        values = ", ".join(["?"] * len(columns) + [_literal(v) for v in fixed.values()])
        with _indexes_rebuilt(conn, table, adding):
            cursor = raw.cursor()
            while batch := result.fetchmany(CHUNK):
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({values})", batch)
                count += len(batch)
        return count
    if conn.dialect.name == "postgresql":
        extra = "".join(f", {_literal(v)} AS {k}" for k, v in fixed.items())
        result = duck.execute(f"SELECT {', '.join(columns)}{extra} FROM ({query}){ordered}")
        names = ", ".join([*columns, *fixed])
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            while batch := result.fetchmany(CHUNK):
                for row in batch:
                    copy.write_row(row)
                count += len(batch)
        return count
    raise NotImplementedError(conn.dialect.name)


def _literal(value: str | int) -> str:
    """A constant as SQL text (the same in DuckDB and SQLite): our own run ids and times, quoted."""
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


@contextmanager
def _indexes_rebuilt(conn: Connection, table: str, adding: int) -> Iterator[None]:
    """Within the caller's transaction, so a killed run leaves every index as it was: the table's
    own indexes (not the unique constraints, which guard the rows while they go in) are dropped
    for a large append and created again after it. SQLite only: its readers keep reading the last
    committed schema meanwhile; on PostgreSQL a dropped index would lock the table's readers out
    until the run commits."""
    if adding < REBUILD_ROWS:
        yield
        return
    held = conn.execute(text(f"SELECT max(rowid) FROM {table}")).scalar() or 0
    statements = (
        []
        if adding * 4 < held
        else conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"),
            {"t": table},
        ).all()
    )
    for name, _ in statements:
        conn.execute(text(f'DROP INDEX "{name}"'))
    yield
    if statements:  # helper threads for the sorts that build them (about 15% faster on two cores)
        conn.execute(text(f"PRAGMA threads = {min(4, os.cpu_count() or 1)}"))
    for _, sql in statements:
        conn.execute(text(sql))
