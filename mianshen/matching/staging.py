"""The run's staging tables in the store: `match_new` (this run's results) and `match_written`
(the subset whose content differs from the match library).

Results reach the store in bulk — `executemany` on SQLite, `COPY` on PostgreSQL — or are produced
there directly by `INSERT … SELECT` when matching runs inside the store. Both tables are
temporary: they live in the run's transaction and are dropped before it commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, text

from mianshen.sqlgen.batch import RESULT_COLUMNS

NEW, WRITTEN, MASKS = "match_new", "match_written", "match_masks"
_CHUNK = 50_000
_TYPES = {"policy_version": "INTEGER", "failed_mask": "BIGINT", "unknown_mask": "BIGINT"}


def create_staging(conn: Connection) -> None:
    drop_staging(conn)
    columns = ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in RESULT_COLUMNS)
    suffix = " ON COMMIT DROP" if conn.dialect.name == "postgresql" else ""
    conn.execute(text(f"CREATE TEMPORARY TABLE {NEW} ({columns}){suffix}"))


def drop_staging(conn: Connection) -> None:
    for table in (NEW, WRITTEN, MASKS):
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))


def chunks(result: Any) -> Iterator[Sequence[tuple[Any, ...]]]:
    """Rows of a DB-API / DuckDB result, a bounded chunk at a time (memory stays flat)."""
    while batch := result.fetchmany(_CHUNK):
        yield batch


def copy_rows(conn: Connection, batches: Iterator[Sequence[tuple[Any, ...]]]) -> int:
    """Append rows in `RESULT_COLUMNS` order to `match_new`; returns the count."""
    raw: Any = conn.connection.driver_connection
    names = ", ".join(RESULT_COLUMNS)
    count = 0
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {NEW} ({names}) FROM STDIN") as copy:
            for batch in batches:
                for row in batch:
                    copy.write_row(row)
                count += len(batch)
        return count
    marks = ", ".join("?" * len(RESULT_COLUMNS))
    cursor = raw.cursor()
    for batch in batches:
        cursor.executemany(f"INSERT INTO {NEW} ({names}) VALUES ({marks})", batch)
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
