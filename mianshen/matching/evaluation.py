"""Evaluating a run's policies into `match_new`: in an in-memory DuckDB (default, fastest) or inside
the store's own database (`MIANSHEN_MATCH_ENGINE=store`: PostgreSQL in production, or SQLite).

Either way it is one batch statement (sqlgen/batch.py) over one profile table; from DuckDB the
rows are streamed into the store in bulk, inside the store they never leave the database.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from mianshen.errors import InputError
from mianshen.matching.staging import chunks, copy_rows, create_staging, fill_scope, insert_select
from mianshen.rules.ast import Policy
from mianshen.sqlgen.batch import BatchPlan, add_hash_columns, batch_select, plan_batch
from mianshen.sqlgen.engines import duckdb_connect, load_profiles, register_sqlite_functions
from mianshen.sqlgen.screen import screenable

ENGINES = ("duckdb", "store")
INPUT = "match_input"


def match_engine() -> str:
    engine = os.environ.get("MIANSHEN_MATCH_ENGINE", "duckdb")
    if engine not in ENGINES:
        raise InputError(f"MIANSHEN_MATCH_ENGINE “{engine}”无效，可选：{'、'.join(ENGINES)}")
    return engine


def evaluate_into_store(
    conn: Connection,
    policies: list[Policy],
    rows: Iterable[tuple[str, dict[str, Any]]],
    as_of: dt.date,
    scope: set[str] | None,
    limited: set[str],
) -> BatchPlan | None:
    """Fill `match_new` with every screenable policy × every profile (`rows`: USCC, values).

    `limited`: ids of policies whose rows are restricted to the enterprises in `scope` (an
    incremental run that also matches a newly published policy for everyone).
    """
    engine = match_engine()
    create_staging(conn)
    chosen = screenable(policies)
    if not chosen:
        return None
    dialect = "duckdb" if engine == "duckdb" else {"postgresql": "postgres", "sqlite": "sqlite"}[conn.dialect.name]
    limited = limited if scope is not None else set()
    plan = plan_batch(chosen, as_of, dialect, scoped=limited)
    if engine == "duckdb":
        _in_duckdb(conn, plan, rows, as_of, scope)
    else:
        _in_store(conn, dialect, plan, rows, as_of, scope)
    return plan


def _in_duckdb(conn: Connection, plan: BatchPlan, rows: Iterable[Any], as_of: dt.date, scope: set[str] | None) -> None:
    duck = duckdb_connect()
    try:
        load_profiles(duck, "duckdb", INPUT, plan.fields, rows)
        add_hash_columns(duck, "duckdb", INPUT, plan, as_of)
        if plan.scoped and scope is not None:
            fill_scope(duck, "duckdb", scope)
        copy_rows(conn, chunks(duck.execute(batch_select("duckdb", plan, INPUT))))
    finally:
        duck.close()


def _in_store(
    conn: Connection,
    dialect: str,
    plan: BatchPlan,
    rows: Iterable[Any],
    as_of: dt.date,
    scope: set[str] | None,
) -> None:
    """The same statement inside the store, in the run's transaction; the input table is dropped
    before it commits, so nothing of it is left behind."""
    raw: Any = conn.connection.driver_connection
    rows = list(rows)  # read before the input table is created: the store's own cursor is still reading
    if dialect == "sqlite":
        register_sqlite_functions(raw)  # exact decimals and the hash, as the compiler expects
    cursor = raw.cursor()
    try:
        load_profiles(raw, dialect, INPUT, plan.fields, rows)
        add_hash_columns(cursor, dialect, INPUT, plan, as_of)
        if plan.scoped and scope is not None:
            fill_scope(raw, dialect, scope)
        insert_select(conn, batch_select(dialect, plan, INPUT))
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {INPUT}")
        cursor.execute("DROP TABLE IF EXISTS match_scope")
