"""`bench import/run --db`: a benchmark imports into a fresh SQLite file or an *empty* PostgreSQL
database, and refuses a database that holds data rather than mixing its rows into the counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

import mianshen.cli.bench  # noqa: F401  (registers `bench import`)
from mianshen.benchmarks.stores import fresh_store, store_mib
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.store.schema import enterprises, metadata

from .conftest import POSTGRES_URL
from .store_fixtures import fresh_store as reset_store


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


@pytest.mark.skipif(not POSTGRES_URL, reason="needs MIANSHEN_TEST_POSTGRES_URL")
def test_a_postgresql_database_holding_data_is_refused_and_left_untouched(tmp_path: Path) -> None:
    assert POSTGRES_URL
    engine = reset_store("postgres", tmp_path)
    assert fresh_store(POSTGRES_URL, tmp_path / "unused.sqlite") == POSTGRES_URL  # empty: accepted
    assert store_mib(POSTGRES_URL) > 0
    with engine.begin() as conn:
        conn.execute(enterprises.insert().values(uscc="91410100MA00000001", name="某公司", uscc_status="valid"))
    with pytest.raises(InputError, match="数据库已有数据（企业 1）"):
        fresh_store(POSTGRES_URL, tmp_path / "unused.sqlite")
    with engine.connect() as conn:
        assert conn.execute(enterprises.select()).all()  # refused, never emptied
    engine.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="needs MIANSHEN_TEST_POSTGRES_URL")
def test_a_database_of_another_application_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    assert POSTGRES_URL
    engine = reset_store("postgres", tmp_path)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        conn.execute(text("CREATE TABLE other_app (id INTEGER)"))
    try:
        with pytest.raises(InputError, match="不属于本平台的表（other_app）"):
            fresh_store(POSTGRES_URL, tmp_path / "unused.sqlite")
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == ["other_app"]  # no mianshen table was created in it
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE other_app"))
        engine.dispose()


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="无法连接数据库"):
        fresh_store("postgresql://nobody@127.0.0.1:1/none", tmp_path / "unused.sqlite")
