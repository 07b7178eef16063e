"""Rows move from DuckDB into the store intact — every row once, in the order asked, NULLs and
awkward text (tabs, newlines, backslashes, quotes, Chinese) as they were — across many chunks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from mianshen.sqlgen.duck import duckdb_connect
from mianshen.store import bulk
from mianshen.store.bulk import from_duckdb, temporary_table
from mianshen.store.db import open_store

ODD = ["a\tb", "line\nnext", "back\\slash", 'it\'s "quoted"', "中文，逗号", "", "\\N"]


def test_rows_arrive_once_in_order_with_their_text(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 5)  # 20 rows a chunk: 1,000 rows are 50 chunks
    duck = duckdb_connect()
    duck.execute("CREATE TABLE src (n INTEGER, t VARCHAR, maybe VARCHAR)")
    rows = [(i, ODD[i % len(ODD)] + str(i), None if i % 3 else f"值{i}") for i in range(1000)]
    duck.executemany("INSERT INTO src VALUES (?, ?, ?)", rows)
    with store.begin() as conn:
        seq = "SERIAL PRIMARY KEY" if conn.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"  # arrival order
        temporary_table(conn, "landing", f"seq {seq}, n INTEGER, t TEXT, maybe TEXT")
        moved = from_duckdb(conn, duck, "SELECT n, t, maybe FROM src", "landing", ("n", "t", "maybe"), order="n DESC")
        got = conn.execute(text("SELECT n, t, maybe FROM landing ORDER BY seq")).all()
    duck.close()
    assert moved == 1000
    assert [tuple(r) for r in got] == sorted(rows, reverse=True)


def _indexes(conn: object) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))}  # type: ignore[attr-defined]


def test_a_large_append_to_sqlite_keeps_every_index_and_constraint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large append drops the table's indexes and builds them again (much faster than keeping
    them up to date row by row); afterwards they are all there, the unique constraint still held
    during the append, and a failed append leaves the indexes as they were."""
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}", migrate=False)  # rebuilt on SQLite only
    monkeypatch.setattr(bulk, "REBUILD_ROWS", 10)
    duck = duckdb_connect()
    duck.execute(
        "CREATE TABLE src AS SELECT 'p' || (i % 7) AS policy_id, 'U' || i AS uscc, i % 5 AS v FROM range(500) t(i)"
    )
    with store.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, policy_id TEXT, uscc TEXT, v INTEGER, run INTEGER, at TEXT, UNIQUE (policy_id, uscc))"
            )
        )
        conn.execute(text("CREATE INDEX ix_t_v ON t (v, policy_id)"))
        conn.execute(text("CREATE INDEX ix_t_expr ON t (CAST(v AS NUMERIC) DESC, id)"))
        before = _indexes(conn)
    with store.begin() as conn:
        fixed = {"run": 7, "at": "2025-06-30 08:00:00.000000"}
        from_duckdb(conn, duck, "SELECT * FROM src", "t", ("policy_id", "uscc", "v"), "policy_id, uscc", fixed)
        assert _indexes(conn) == before
        plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN SELECT id FROM t WHERE v = 3")))
        assert "ix_t_v" in plan
        assert conn.execute(text("SELECT count(*), min(run), max(at) FROM t")).one() == (500, 7, fixed["at"])
    with pytest.raises(Exception, match="UNIQUE"), store.begin() as conn:  # the same rows again: refused
        from_duckdb(conn, duck, "SELECT * FROM src", "t", ("policy_id", "uscc", "v"), "policy_id, uscc", fixed)
    with store.connect() as conn:
        assert _indexes(conn) == before
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 500
    duck.close()
