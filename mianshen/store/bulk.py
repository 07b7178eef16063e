"""Moving many rows into the store at once: from DuckDB straight into a table (`from_duckdb`).

Millions of rows a run (case candidates, data requests, changes): a Python object per row — or
SQLAlchemy's per-row parameter processing — would cost more than the database's own work, so
DuckDB renders each chunk as one string the database unpacks itself, into a temporary table, and
set statements move the rows on from there.
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
    """Append the rows of a DuckDB query to a store table without a Python object per row: DuckDB
    renders each chunk as one string — a JSON array that SQLite's `json_each` unpacks in C, or the
    text of PostgreSQL's `COPY`. Millions of rows a second instead of a few hundred thousand.
    `order`: the order rows are appended in (the store's index order is cheapest to insert)."""
    numbered = f"row_number() OVER ({'ORDER BY ' + order if order else ''}) AS bulk_n"
    duck.execute(f"CREATE OR REPLACE TEMP TABLE bulk_out AS SELECT *, {numbered} FROM ({query})")
    total = int(duck.execute("SELECT count(*) FROM bulk_out").fetchone()[0])
    names = ", ".join(columns)
    raw: Any = conn.connection.driver_connection
    as_text = [f"CAST({c} AS VARCHAR)" for c in columns]
    step = CHUNK * 4
    for lo in range(0, total, step):
        window = f"FROM bulk_out WHERE bulk_n > {lo} AND bulk_n <= {lo + step}"
        if conn.dialect.name == "postgresql":
            line = " || chr(9) || ".join(f"COALESCE({_copy_escaped(t)}, '\\N')" for t in as_text)
            (text_,) = duck.execute(f"SELECT string_agg({line} || chr(10), '' ORDER BY bulk_n) {window}").fetchone()
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                copy.write(text_)
        else:
            (doc,) = duck.execute(f"SELECT to_json(list([{', '.join(as_text)}] ORDER BY bulk_n)) {window}").fetchone()
            picked = ", ".join(f"value ->> {i}" for i in range(len(columns)))
            raw.cursor().execute(f"INSERT INTO {table} ({names}) SELECT {picked} FROM json_each(?)", (doc,))
    duck.execute("DROP TABLE bulk_out")
    return total


def _copy_escaped(column: str) -> str:
    """COPY's text format escapes backslash, tab, newline and carriage return."""
    return rf"replace(replace(replace(replace({column}, '\', '\\'), chr(9), '\t'), chr(10), '\n'), chr(13), '\r')"
