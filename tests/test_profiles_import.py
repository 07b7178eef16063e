"""Imports into 企业画像库: validation, reject report, atomic batches, re-import, profiles as of a date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from mianshen.errors import InputError
from mianshen.profiles import bulk_write, imports
from mianshen.profiles.current import read_population, read_profile
from mianshen.profiles.imports import import_file
from mianshen.profiles.overrides import override_uscc
from mianshen.profiles.sources import load_source_file, register_source
from mianshen.store.schema import enterprises, import_batches, import_rejects, observations, uscc_overrides

from .store_fixtures import fresh_store

SOURCES = """\
sources:
  - id: market
    name: 市场主体登记
    department: 市场监管局
    refresh: 每日
    freshness_days: 30
    priority: 1
    columns:
      统一社会信用代码: uscc
      企业名称: name
      主体类型: subject_type
      成立日期: established_on
      行业代码: industry_code
      从业人数: employees
  - id: tax
    name: 税收征管
    department: 税务局
    refresh: 每月
    freshness_days: 400
    priority: 2
    as_of_column: 数据日期
    columns:
      统一社会信用代码: uscc
      营业收入（万元）: {field: revenue_last_year, unit: 万元}
      从业人数: employees
"""
MARKET = """统一社会信用代码,企业名称,主体类型,成立日期,行业代码,从业人数
91110108551385082Q,甲公司,企业,2020-01-01,3011,15
91110108551385082F,乙公司,企业,2021-03-01,C3011,8
91370000728611939A,丙公司,企业,2021-02-30,C3011,
XYZ,丁,企业,2020-01-01,C3011,3
91440101MA5CJQ4N59,戊公司,个体工商户,2019-05-05,F5211,
"""
TAX = """统一社会信用代码,营业收入（万元）,从业人数,数据日期
91110108551385082Q,1234.56,12,2025-03-31
91440101MA5CJQ4N59,abc,2,2025-03-31
"""
DAY = dt.date(2025, 6, 30)


def setup_store(engine: Engine, tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    with engine.begin() as conn:
        for source in load_source_file(tmp_path / "sources.yaml"):
            register_source(conn, source)
    market, tax = tmp_path / "market.csv", tmp_path / "tax.csv"
    market.write_text(MARKET, encoding="utf-8")
    tax.write_text(TAX, encoding="utf-8")
    return market, tax


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_every_bad_row_is_reported_with_its_row_number(store: Engine, tmp_path: Path) -> None:
    market, _ = setup_store(store, tmp_path)
    report = import_file(store, "market", market, DAY)
    assert (report.rows_read, report.accepted, report.rejected, report.warnings) == (5, 3, 2, 1)
    by_row = {r["row_number"]: r for r in report.rejects}
    assert by_row[4]["severity"] == "error" and "2021-02-30" in by_row[4]["reason"]  # header is row 1
    assert by_row[5]["severity"] == "error" and "长度应为 18 位" in by_row[5]["reason"]
    assert by_row[3]["severity"] == "warning" and "校验" in by_row[3]["reason"]  # taken, flagged
    assert count(store, import_rejects) == 3
    with store.connect() as conn:
        statuses = dict(conn.execute(select(enterprises.c.uscc, enterprises.c.uscc_status)).all())
    assert statuses == {
        "91110108551385082Q": "valid",
        "91110108551385082F": "check_failed",
        "91440101MA5CJQ4N59": "valid",
    }


def test_reimporting_the_same_file_changes_nothing(store: Engine, tmp_path: Path) -> None:
    market, _ = setup_store(store, tmp_path)
    first = import_file(store, "market", market, DAY)
    before = (count(store, observations), count(store, import_batches), count(store, import_rejects))
    again = import_file(store, "market", market, DAY)
    assert again.duplicate_of == first.batch_id and again.batch_id is None
    assert (count(store, observations), count(store, import_batches), count(store, import_rejects)) == before


def test_a_failed_import_changes_nothing(store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    market, _ = setup_store(store, tmp_path)
    monkeypatch.setattr(imports, "CHUNK", 2)  # several writes inside the one transaction
    calls = {"n": 0}
    real_write = imports._write

    def failing_write(*args: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")  # after the first chunk was written
        real_write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(imports, "_write", failing_write)
    with pytest.raises(OSError):
        import_file(store, "market", market, DAY)
    assert count(store, observations) == count(store, import_batches) == count(store, enterprises) == 0
    monkeypatch.setattr(imports, "_write", real_write)
    assert import_file(store, "market", market, DAY).accepted == 3  # and it can simply be rerun


def test_profile_has_provenance_units_and_as_of(store: Engine, tmp_path: Path) -> None:
    market, tax = setup_store(store, tmp_path)
    import_file(store, "market", market, DAY)
    import_file(store, "tax", tax, DAY)
    with store.connect() as conn:
        now = read_profile(conn, "91110108551385082Q", DAY)
        before_tax = read_profile(conn, "91110108551385082Q", dt.date(2025, 3, 30))
    revenue = now.fields["revenue_last_year"]
    assert str(revenue.value) == "12345600.00" and "税务局" in revenue.source and revenue.as_of == dt.date(2025, 3, 31)
    assert now.fields["industry_code"].value == "C3011"  # `3011` normalised
    # employees: market says 15 as of 2025-06-30, tax 12 as of 2025-03-31 → the later one wins
    assert now.fields["employees"].value == 15 and "市场监管局" in now.fields["employees"].source
    assert "revenue_last_year" not in before_tax.fields  # not yet known on that date
    assert before_tax.fields == {} or all(v.as_of <= dt.date(2025, 3, 30) for v in before_tax.fields.values())


def test_same_date_disagreement_is_a_conflict_resolved_by_priority(store: Engine, tmp_path: Path) -> None:
    market, _ = setup_store(store, tmp_path)
    import_file(store, "market", market, DAY)
    tax = tmp_path / "tax2.csv"
    tax.write_text(
        "统一社会信用代码,营业收入（万元）,从业人数,数据日期\n91110108551385082Q,10,99,2025-06-30\n", encoding="utf-8"
    )
    import_file(store, "tax", tax, DAY)
    with store.connect() as conn:
        employees = read_profile(conn, "91110108551385082Q", DAY).fields["employees"]
    assert employees.value == 15  # market (priority 1) over tax (priority 2) on the same date
    assert employees.conflicts == [("税务局·税收征管", "99")]


def test_population_equals_single_profiles(store: Engine, tmp_path: Path) -> None:
    market, tax = setup_store(store, tmp_path)
    import_file(store, "market", market, DAY)
    import_file(store, "tax", tax, DAY)
    with store.connect() as conn:
        everyone = {p.uscc: p.fields for p in read_population(conn, DAY)}
        assert everyone.keys() == {"91110108551385082Q", "91110108551385082F", "91440101MA5CJQ4N59"}
        for uscc, fields in everyone.items():
            single = read_profile(conn, uscc, DAY).fields
            assert {k: v.value for k, v in fields.items()} == {k: v.value for k, v in single.items()}


def test_failed_check_can_be_overridden_with_who_and_why(store: Engine, tmp_path: Path) -> None:
    market, _ = setup_store(store, tmp_path)
    import_file(store, "market", market, DAY)
    with store.begin() as conn:
        with pytest.raises(InputError):
            override_uscc(conn, "91110108551385082F", "张三", "")
        override_uscc(conn, "91110108551385082F", "张三（市场监管局）", "经登记机关确认为历史赋码")
    with store.connect() as conn:
        assert read_profile(conn, "91110108551385082F", DAY).uscc_status == "overridden"
        (actor, reason) = conn.execute(select(uscc_overrides.c.actor, uscc_overrides.c.reason)).one()
    assert actor == "张三（市场监管局）" and "历史赋码" in reason


def test_unknown_source_and_missing_file_are_clear_errors(store: Engine, tmp_path: Path) -> None:
    market, _ = setup_store(store, tmp_path)
    with pytest.raises(InputError, match="未登记的数据源"):
        import_file(store, "nope", market, DAY)
    with pytest.raises(InputError, match="文件不存在"):
        import_file(store, "market", tmp_path / "missing.csv", DAY)


def test_sqlite_settings_of_an_import_are_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Foreign-key lookups are off inside an import only, secure_delete is as it was, and the
    indexes dropped for a big batch are back; after a failed import too (SQLite's own settings)."""
    store = fresh_store("sqlite", tmp_path)
    market, tax = setup_store(store, tmp_path)
    monkeypatch.setattr(bulk_write, "REBUILD_FROM", 0)  # a batch as big as the table: indexes dropped
    with store.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        secure = raw.execute("PRAGMA secure_delete").fetchone()[0]
        indexes = {r[0] for r in raw.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'observations'")}
    seen: list[tuple[int, int]] = []
    real_write = imports._write

    def watching(writer: Any, *args: Any) -> None:
        seen.append(
            tuple(writer.cursor.execute(f"PRAGMA {p}").fetchone()[0] for p in ("foreign_keys", "secure_delete"))
        )
        real_write(writer, *args)

    monkeypatch.setattr(imports, "_write", watching)
    assert import_file(store, "market", market, DAY).accepted == 3
    assert seen == [(0, secure)]

    def failing(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(imports, "_write", failing)
    with pytest.raises(OSError):
        import_file(store, "tax", tax, DAY)
    with store.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert raw.execute("PRAGMA secure_delete").fetchone()[0] == secure
        assert {r[0] for r in raw.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'observations'")} == indexes
    with pytest.raises(IntegrityError), store.begin() as conn:  # the store's own checks are back
        conn.execute(
            observations.insert().values(
                uscc="91110108551385082Q", field="employees", value="1", source_id="nope", as_of=DAY, batch_id=99
            )
        )


def test_an_abolished_region_code_is_taken_as_its_successor(store: Engine, tmp_path: Path) -> None:
    """410306 吉利区 (into 孟津区 410308 in 2021) still comes in from registries: the row is accepted
    and the enterprise is in 孟津区, not rejected as an unknown code."""
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - id: reg\n    name: 登记\n    department: 市场监管局\n    refresh: 每日\n"
        "    freshness_days: 30\n    priority: 1\n    columns:\n      统一社会信用代码: uscc\n      注册地: region_code\n",
        encoding="utf-8",
    )
    with store.begin() as conn:
        for source in load_source_file(tmp_path / "sources.yaml"):
            register_source(conn, source)
    data = tmp_path / "reg.csv"
    data.write_text("统一社会信用代码,注册地\n91110108551385082Q,410306\n91440101MA5CJQ4N59,410381\n", encoding="utf-8")
    report = import_file(store, "reg", data, DAY)
    assert (report.accepted, report.rejected) == (2, 0)
    with store.connect() as conn:
        assert read_profile(conn, "91110108551385082Q", DAY).fields["region_code"].value == "410308"
        assert read_profile(conn, "91440101MA5CJQ4N59", DAY).fields["region_code"].value == "410307"
