"""The run's staging tables in the store: `match_new` (this run's results) and `match_written`
(the subset whose content differs from the match library).

Results reach the store in bulk — `executemany` on SQLite, `COPY` on PostgreSQL — or are produced
there directly by `INSERT … SELECT` when matching runs inside the store. Both tables are
temporary: they live in the run's transaction and are dropped before it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, text

from mianshen.sqlgen.batch import RESULT_COLUMNS

NEW, DIFF, WRITTEN, MASKS = "match_new", "match_diff", "match_written", "match_masks"
REQUESTS, PERIODS = "match_requests", "match_periods"  # requests.py; library.cases_to_open
_CHUNK = 50_000
_TYPES = {"policy_version": "INTEGER", "failed_mask": "BIGINT", "unknown_mask": "BIGINT"}


def create_staging(conn: Connection) -> None:
    drop_staging(conn)
    if conn.dialect.name == "sqlite":
        # Debian builds SQLite with secure_delete on: dropping a run's staging (millions of rows)
        # would first overwrite every freed page of the temporary file with zeros. Nothing there
        # outlives the connection, so there is nothing to scrub.
        conn.execute(text("PRAGMA temp.secure_delete = OFF"))
    temporary_table(conn, NEW, ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in RESULT_COLUMNS))


def temporary_table(conn: Connection, name: str, columns: str) -> None:
    """(Re)create one of the run's temporary tables (`columns`: SQL column definitions); on
    PostgreSQL it goes with the transaction even if the run fails before `drop_staging`."""
    conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    suffix = " ON COMMIT DROP" if conn.dialect.name == "postgresql" else ""
    conn.execute(text(f"CREATE TEMPORARY TABLE {name} ({columns}){suffix}"))


def drop_staging(conn: Connection) -> None:
    for table in (NEW, DIFF, WRITTEN, MASKS, REQUESTS, PERIODS):
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))


def chunks(result: Any) -> Iterator[Sequence[tuple[Any, ...]]]:
    """Rows of a DB-API / DuckDB result, a bounded chunk at a time (memory stays flat)."""
    while batch := result.fetchmany(_CHUNK):
        yield batch


def copy_rows(conn: Connection, batches: Iterator[Sequence[tuple[Any, ...]]]) -> int:
    """Append rows in `RESULT_COLUMNS` order to `match_new`; returns the count."""
    return append_rows(conn, NEW, RESULT_COLUMNS, batches)


def append_rows(
    conn: Connection, table: str, columns: Sequence[str], batches: Iterable[Sequence[tuple[Any, ...]]]
) -> int:
    """Append rows, already in the driver's types, straight to the driver: `COPY` on PostgreSQL,
    `executemany` on SQLite. Millions of rows a run: SQLAlchemy's per-row parameter processing
    would cost more than the database's own work. Returns the count."""
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


def insert_select(conn: Connection, select_sql: str) -> None:
    """Matching inside the store: the batch statement's rows go straight into `match_new`."""
    raw: Any = conn.connection.driver_connection
    cursor = raw.cursor()
    cursor.execute(f"INSERT INTO {NEW} ({', '.join(RESULT_COLUMNS)}) {select_sql}")


def fill_scope(conn_or_cursor: Any, dialect: str, usccs: set[str]) -> None:
    """`match_scope(uscc)`: the enterprises incremental policies are limited to, in the engine."""
    if dialect == "duckdb":  # row-by-row inserts are slow in DuckDB; one list parameter is not
        conn_or_cursor.execute(
            "CREATE OR REPLACE TABLE match_scope AS SELECT unnest(?::VARCHAR[]) AS uscc", [sorted(usccs)]
        )
        return
    cursor = conn_or_cursor.cursor()
    cursor.execute("DROP TABLE IF EXISTS match_scope")
    cursor.execute("CREATE TEMPORARY TABLE match_scope (uscc TEXT PRIMARY KEY)")
    mark = "%s" if dialect == "postgres" else "?"
    cursor.executemany(f"INSERT INTO match_scope (uscc) VALUES ({mark})", [(u,) for u in sorted(usccs)])
