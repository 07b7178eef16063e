"""`bench import/run --db`: a benchmark imports into a fresh SQLite file or an *empty* PostgreSQL
database, and refuses a database that holds data rather than mixing its rows into the counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

import mianshen.cli.bench  # noqa: F401  (registers `bench import`)
from mianshen.benchmarks.stores import fresh_store, store_mib
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.store.db import open_store
from mianshen.store.schema import enterprises

from .conftest import POSTGRES_URL


def test_default_is_a_new_sqlite_file_replacing_an_old_one(tmp_path: Path) -> None:
    old = tmp_path / "import-100.sqlite"
    old.write_bytes(b"left over from an earlier run")
    Path(f"{old}-wal").write_bytes(b"stale journal")
    url = fresh_store(None, old)
    assert url == f"sqlite:///{old}"
    assert not old.exists() and not Path(f"{old}-wal").exists()


def test_only_postgresql_urls_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="只接受 PostgreSQL"):
        fresh_store(f"sqlite:///{tmp_path}/other.sqlite", tmp_path / "x.sqlite")
    result = CliRunner().invoke(
        cli, ["bench", "import", "--enterprises", "100", "--dir", str(tmp_path), "--db", "mysql://somewhere/db"]
    )
    assert result.exit_code == 2
    assert "只接受 PostgreSQL" in result.output
    assert not (tmp_path / "data-100").exists()  # refused before generating anything


SCHEMA = "mianshen_bench_check"


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A URL whose database is empty: its own schema, first on the search path. The shared test
    database holds other suites' tables, which a benchmark would rightly refuse."""
    if not POSTGRES_URL:
        pytest.skip("needs MIANSHEN_TEST_POSTGRES_URL")
    admin = open_store(POSTGRES_URL, migrate=False)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    joiner = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{joiner}options=-csearch_path%3D{SCHEMA}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin.dispose()


def test_a_postgresql_database_holding_data_is_refused_and_left_untouched(empty_postgres: str, tmp_path: Path) -> None:
    assert fresh_store(empty_postgres, tmp_path / "unused.sqlite") == empty_postgres  # empty: accepted
    assert store_mib(empty_postgres) > 0
    engine = open_store(empty_postgres, migrate=False)
    with engine.begin() as conn:
        conn.execute(enterprises.insert().values(uscc="91410100MA00000001", name="某公司", uscc_status="valid"))
    with pytest.raises(InputError, match="数据库已有数据（企业 1）"):
        fresh_store(empty_postgres, tmp_path / "unused.sqlite")
    with engine.connect() as conn:
        assert conn.execute(enterprises.select()).all()  # refused, never emptied
    engine.dispose()


def test_a_database_of_another_application_is_refused_before_anything_is_created(
    empty_postgres: str, tmp_path: Path
) -> None:
    engine = open_store(empty_postgres, migrate=False)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE other_app (id INTEGER)"))
    with pytest.raises(InputError, match="不属于本平台的表（other_app）"):
        fresh_store(empty_postgres, tmp_path / "unused.sqlite")
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == ["other_app"]  # no mianshen table was created in it
    engine.dispose()


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="无法连接数据库"):
        fresh_store("postgresql://nobody@127.0.0.1:1/none", tmp_path / "unused.sqlite")
