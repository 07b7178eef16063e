"""Rows move from DuckDB into the store intact — every row once, in the order asked, NULLs and
awkward text (tabs, newlines, backslashes, quotes, Chinese) as they were — across many chunks."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from mianshen.sqlgen.duck import duckdb_connect
from mianshen.store import bulk
from mianshen.store.bulk import from_duckdb, temporary_table

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
