"""A fresh store per test: a SQLite file, and PostgreSQL when MIANSHEN_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from mianshen.store.db import open_store

from .conftest import POSTGRES_URL

STORES = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def store_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/store.sqlite"
    assert POSTGRES_URL
    return POSTGRES_URL


def fresh_store(kind: str, tmp_path: Path) -> Engine:
    url = store_url(kind, tmp_path)
    if kind == "postgres":
        engine = open_store(url, migrate=False)
        with engine.begin() as conn:
            # every table of the schema, also those an older schema had (the database is shared)
            names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
            for name in list(names):
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
        engine.dispose()
    return open_store(url)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    # the store's files (observation mirror, match library) belong to this test's store only
    monkeypatch.setenv("MIANSHEN_DATA_DIR", str(tmp_path / "data"))
    engine = fresh_store(request.param, tmp_path)
    yield engine
    engine.dispose()
