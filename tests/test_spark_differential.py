"""Spark runs the compiled policy SQL to DuckDB's results, row for row (status, amount, failed, unknown).

One SparkSession for the module (starting one takes seconds); every comparison runs many profiles
and policies in one Spark job. DuckDB itself is held to the Python evaluator by test_differential.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mianshen.cli.spark  # noqa: F401  (registers the commands)
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.profiles.demo_data import DemoSummary
from mianshen.rules import numbers
from mianshen.rules.ast import Policy
from mianshen.rules.profile import Profile
from mianshen.scale.parquet import read_meta, write_snapshot
from mianshen.scale.session import JAVA_17, QUICK_START_JAVA_OPTIONS, find_java, spark_session
from mianshen.scale.spark import compile_all, match_snapshot, read_results, register_functions
from mianshen.scale.synthetic import synthetic_profiles
from mianshen.sqlgen.dialects import DIALECTS
from mianshen.sqlgen.engines import MatchRow, duckdb_connect
from mianshen.sqlgen.screen import screen

from .conftest import ROOT
from .matching_fixtures import AS_OF, demo, import_demo  # noqa: F401  (demo is a fixture)
from .store_fixtures import fresh_store
from .strategies import policies, profiles

HAS_JAVA = bool(os.environ.get("JAVA_HOME") or (JAVA_17 / "bin" / "java").exists() or shutil.which("java"))
pytestmark = pytest.mark.skipif(not HAS_JAVA, reason="未安装 Java：Spark 差分测试需要 Java 17")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session("local[2]", "mianshen-test", java_options=QUICK_START_JAVA_OPTIONS)
    yield session
    session.stop()


def duckdb_rows(policies: list[Policy], population: list[tuple[str, dict[str, Any]]], as_of: dt.date) -> dict:
    conn = duckdb_connect()
    try:
        summaries = screen(conn, "duckdb", policies, [Profile(i, dict(v)) for i, v in population], as_of)
    finally:
        conn.close()
    return {s.policy.id: s.rows for s in summaries}


def assert_same(spark_rows: dict[str, list[MatchRow]], duck_rows: dict[str, list[MatchRow]]) -> None:
    assert set(spark_rows) == set(duck_rows)
    for policy_id, expected in duck_rows.items():
        got = {r.id: r for r in spark_rows[policy_id]}
        assert len(got) == len(expected) == len(spark_rows[policy_id]), policy_id
        for row in expected:
            mine = got[row.id]
            assert (mine.status, mine.amount, mine.failed, mine.unknown) == (
                row.status,
                row.amount,
                row.failed,
                row.unknown,
            ), (policy_id, row.id)


def spark_match(
    spark: Any, tmp: Path, policies: list[Policy], population: list, as_of: dt.date, partition: bool = False
) -> dict:
    fields = sorted({f for _, c in compile_all(policies, as_of) for f in c.fields})
    snapshot = write_snapshot(population, fields, tmp / "profiles", as_of, partition)
    match_snapshot(spark, snapshot.path, tmp / "results", policies, as_of, summarize=False)
    return read_results(spark, tmp / "results")


@pytest.mark.parametrize("as_of", [dt.date(2022, 7, 15), dt.date(2025, 6, 30)])  # every shipped policy in force
def test_shipped_policies_on_spark_equal_duckdb(
    spark: Any, shipped_policies: list[Policy], as_of: dt.date, tmp_path: Path
) -> None:
    population = list(synthetic_profiles(300, seed=5, as_of=as_of))
    partition = as_of.year == 2022  # also read the Hive layout province=…/bucket=…/
    got = spark_match(spark, tmp_path, shipped_policies, population, as_of, partition)
    if partition:
        assert len(list((tmp_path / "profiles").glob("province=41/bucket=*/*.parquet"))) > 8  # Henan USCCs
    assert_same(got, duckdb_rows(shipped_policies, population, as_of))
    assert {r.status for rows in got.values() for r in rows} == {"eligible", "ineligible", "unknown"}


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    generated=st.lists(policies(), min_size=6, max_size=6),
    population=st.lists(profiles(), min_size=30, max_size=30),
    as_of=st.sampled_from([dt.date(2025, 6, 30), dt.date(2026, 6, 30)]),
)
def test_generated_policies_on_spark_equal_duckdb(
    spark: Any, tmp_path_factory: pytest.TempPathFactory, generated: list[Policy], population: list, as_of: dt.date
) -> None:
    chosen = [dataclasses.replace(p, id=f"generated-{i}") for i, p in enumerate(generated)]
    rows = [(f"e{i}", values) for i, values in enumerate(population)]
    got = spark_match(spark, tmp_path_factory.mktemp("generated"), chosen, rows, as_of)
    assert_same(got, duckdb_rows(chosen, rows, as_of))


EDGES = [
    ("1", "3"),
    ("2", "3"),
    ("-2", "3"),
    ("10", "4"),
    ("-10", "4"),
    ("1", "-3"),
    ("5", "0"),
    ("0.00000000005", "1"),
    ("-0.00000000015", "1"),
    ("999999999999999.99", "0.07"),
    ("123456789012345.67", "12"),
    ("333333333333.33", "0.02"),
]
money = st.decimals(min_value=-(10**15) + 1, max_value=10**15 - 1, places=2, allow_nan=False, allow_infinity=False)
fine = st.decimals(min_value=-1000, max_value=1000, places=10, allow_nan=False, allow_infinity=False)


def _in_bounds(pair: tuple[Decimal, Decimal]) -> bool:
    a, b = pair
    return abs(a * b) < Decimal("4e17") and (b == 0 or abs(a / b) < Decimal("4e17"))


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(pairs=st.lists(st.tuples(money | fine, fine | money).filter(_in_bounds), min_size=20, max_size=60))
def test_decimal_arithmetic_is_exact_on_spark(spark: Any, pairs: list[tuple[Decimal, Decimal]]) -> None:
    """+ - * / rounded half away from zero to 10 places, as the Python evaluator computes them."""
    from sqlglot import exp

    register_functions(spark)
    values = [(Decimal(a), Decimal(b)) for a, b in EDGES] + pairs
    d = DIALECTS["spark"]
    a, b = (exp.cast(exp.column(c), exp.DataType.build("DECIMAL(38, 10)")) for c in "ab")
    ops = ", ".join(f"{d.arith(op, a, b).sql(dialect='spark')} AS r{i}" for i, op in enumerate("+-*/"))
    rows = ", ".join(f"({i}, '{x}', '{y}')" for i, (x, y) in enumerate(values))
    result = spark.sql(f"SELECT i, {ops} FROM VALUES {rows} AS t(i, a, b)").collect()
    assert len(result) == len(values)
    for row in result:
        x, y = (numbers.quantize(v) for v in values[row.i])
        expected = [numbers.add(x, y), numbers.sub(x, y), numbers.mul(x, y), numbers.div(x, y)]
        assert [row.r0, row.r1, row.r2, row.r3] == expected, (x, y)


def test_export_then_match_spark_from_the_store(spark: Any, demo: DemoSummary, tmp_path: Path) -> None:  # noqa: F811
    """The documented commands end to end: store → export-profiles → match-spark → result Parquet."""
    engine = fresh_store("sqlite", tmp_path)
    import_demo(engine, demo)
    url = f"sqlite:///{tmp_path}/store.sqlite"
    policies_dir = str(ROOT / "policies")
    runner = CliRunner()
    exported = runner.invoke(
        cli,
        ["export-profiles", "--db", url, "--out", str(tmp_path / "snap"), "--as-of", str(AS_OF)]
        + ["--policies", policies_dir],
    )
    assert exported.exit_code == 0, exported.output
    assert "已导出 300 家企业的画像快照" in exported.output
    newest = read_meta(tmp_path / "snap").last_batch  # type: ignore[union-attr]
    delta = runner.invoke(
        cli,
        ["export-profiles", "--db", url, "--out", str(tmp_path / "delta"), "--as-of", str(AS_OF)]
        + ["--policies", policies_dir, "--changed-after", str(newest)],
    )
    assert delta.exit_code == 0 and f"已导出批次 {newest} 之后有变化的 0 家企业" in delta.output, delta.output
    matched = runner.invoke(
        cli,
        ["match-spark", "--master", "local[2]", "--profiles", str(tmp_path / "snap"), "--out", str(tmp_path / "res")]
        + ["--policies", policies_dir],
    )
    assert matched.exit_code == 0, matched.output
    assert f"评估日 {AS_OF}，300 家企业" in matched.output and "结果已写入" in matched.output
    got = read_results(spark, tmp_path / "res")

    from mianshen.matching.inputs import read_profiles

    in_force = [p for p, _ in compile_all(_shipped(), AS_OF) if p.valid_from <= AS_OF <= (p.valid_to or AS_OF)]
    fields = {f for _, c in compile_all(in_force, AS_OF) for f in c.fields}
    with engine.connect() as conn:
        stored = read_profiles(conn, AS_OF, fields)
    engine.dispose()
    population = [(uscc, p.to_profile().values) for uscc, p in stored.items()]
    assert_same(got, duckdb_rows(in_force, population, AS_OF))
    assert sum(r.status == "eligible" for rows in got.values() for r in rows) > 0


def _shipped() -> list[Policy]:
    from mianshen.rules.loader import read_policies

    return read_policies([ROOT / "policies"])[0]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_missing_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    code, output = _run("match-spark", "--profiles", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r"))
    assert code == 2 and f"画像快照目录不存在：{tmp_path / 'nowhere'}" in output
    (tmp_path / "empty").mkdir()
    code, output = _run("match-spark", "--profiles", str(tmp_path / "empty"), "--out", str(tmp_path / "r"))
    assert code == 2 and "中没有 Parquet 文件" in output


def test_bad_master_and_java_home_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = _run("match-spark", "--master", "spark:/host", "--profiles", str(tmp_path), "--out", "r")
    assert code == 2 and "Spark 主节点地址无效：“spark:/host”" in output
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(InputError, match="JAVA_HOME 指向的目录中没有 Java"):
        find_java()


def test_a_non_result_directory_is_never_overwritten(spark: Any, tmp_path: Path) -> None:
    population = list(synthetic_profiles(5, seed=2))
    write_snapshot(population, ["subject_type", "qualified_youth_hires"], tmp_path / "snap", AS_OF)
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("不要删除", encoding="utf-8")
    kuogang = [p for p in _shipped() if p.id == "kuogang-buzhu"]
    with pytest.raises(InputError, match="不是匹配结果目录，拒绝覆盖"):
        match_snapshot(spark, tmp_path / "snap", tmp_path / "precious", kuogang, AS_OF)
    assert (tmp_path / "precious" / "notes.txt").exists()
