"""Spark writes the same match-library layer DuckDB writes from the same snapshot, enterprise by
enterprise (status, exact amount, unknown conditions), and a store fed with it (`match --from`)
ends as a DuckDB run leaves it.

One SparkSession for the module (starting one takes seconds); every comparison runs many profiles
and policies in one Spark job. DuckDB itself is held to the Python evaluator by test_differential.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
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
from sqlalchemy import select

import mianshen.cli.match  # noqa: F401  (registers the commands)
import mianshen.cli.spark  # noqa: F401
from mianshen import numbers
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.matching.evaluation import write_layer
from mianshen.matching.library import Layer, read_files
from mianshen.matching.read import pairs
from mianshen.matching.runs import run_match
from mianshen.profiles.demo_data import DemoSummary
from mianshen.profiles.derive import with_inputs
from mianshen.rules.ast import Policy
from mianshen.rules.loader import SHIPPED
from mianshen.scale.parquet import read_meta, write_snapshot
from mianshen.scale.session import JAVA_17, QUICK_START_JAVA_OPTIONS, find_java, spark_session
from mianshen.scale.spark import match_snapshot, register_functions
from mianshen.scale.synthetic import synthetic_profiles
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.dialects import DIALECTS
from mianshen.sqlgen.engines import duckdb_connect
from mianshen.sqlgen.screen import screenable
from mianshen.store.schema import cases, data_requests

from .matching_fixtures import AS_OF, demo, import_demo, publish  # noqa: F401  (demo is a fixture)
from .store_fixtures import fresh_store
from .strategies import policies, profiles

HAS_JAVA = bool(os.environ.get("JAVA_HOME") or (JAVA_17 / "bin" / "java").exists() or shutil.which("java"))
pytestmark = pytest.mark.skipif(not HAS_JAVA, reason="未安装 Java：Spark 差分测试需要 Java 17")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session("local[2]", "mianshen-test", java_options=QUICK_START_JAVA_OPTIONS)
    yield session
    session.stop()


Rows = dict[str, dict[str, tuple[Any, ...]]]  # policy id → enterprise → (status code, amount, unknown mask)


def layer_rows(folder: Path, layer: Layer) -> Rows:
    """A layer's results as read by the library (DuckDB), whichever engine wrote it."""
    conn = duckdb_connect()
    try:
        out: Rows = {}
        for c in layer.policies:
            rows = conn.execute(
                f"SELECT id, s_{c.column}, a_{c.column}, {c.unknown()} FROM {read_files(folder, [c.file])}"
            ).fetchall()
            out[c.policy_id] = {r[0]: (int(r[1]), r[2], None if r[3] is None else int(r[3])) for r in rows}
    finally:
        conn.close()
    return out


def duckdb_layer(snapshot: Path, out: Path, policies: list[Policy], as_of: dt.date) -> Rows:
    out.mkdir(parents=True)
    conn = duckdb_connect()
    try:
        conn.execute(f"CREATE VIEW snap AS SELECT * FROM read_parquet('{snapshot}/**/*.parquet')")
        layer = write_layer(conn, out, out, 0, screenable(policies), as_of, "", 0, "snap")
    finally:
        conn.close()
    return layer_rows(out, layer)


def spark_match(
    spark: Any, tmp: Path, policies: list[Policy], population: list, as_of: dt.date, partition: bool = False
) -> tuple[Rows, Rows]:
    """(Spark's layer, DuckDB's layer) of the same snapshot."""
    read = {f for p in screenable(policies) for f in needed_fields(p)}
    fields = sorted(with_inputs(read | {"region_code"}))
    snapshot = write_snapshot(population, fields, tmp / "profiles", as_of, partition)
    result = match_snapshot(spark, snapshot.path, tmp / "results", policies, as_of, summarize=False)
    assert result.layer is not None
    return layer_rows(tmp / "results", result.layer), duckdb_layer(snapshot.path, tmp / "duck", policies, as_of)


def assert_same(got: Rows, expected: Rows) -> None:
    assert set(got) == set(expected)
    for policy_id, rows in expected.items():
        assert got[policy_id] == rows, policy_id


@pytest.mark.parametrize("as_of", [dt.date(2022, 7, 15), dt.date(2025, 6, 30)])  # every shipped policy in force
def test_shipped_policies_on_spark_equal_duckdb(
    spark: Any, shipped_policies: list[Policy], as_of: dt.date, tmp_path: Path
) -> None:
    population = list(synthetic_profiles(300, seed=5, as_of=as_of))
    partition = as_of.year == 2022  # also read the Hive layout province=…/bucket=…/
    got, expected = spark_match(spark, tmp_path, shipped_policies, population, as_of, partition)
    if partition:
        assert len(list((tmp_path / "profiles").glob("province=41/bucket=*/*.parquet"))) > 8  # Henan USCCs
    assert_same(got, expected)
    assert {r[0] for rows in got.values() for r in rows.values()} == {0, 1, 2}


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
    rows = [(f"9141010{i:011d}", values) for i, values in enumerate(population)]
    got, expected = spark_match(spark, tmp_path_factory.mktemp("generated"), chosen, rows, as_of)
    assert_same(got, expected)


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


def test_export_then_match_spark_then_match_from_the_store(spark: Any, demo: DemoSummary, tmp_path: Path) -> None:  # noqa: F811
    """The documented commands end to end: store → export-profiles → match-spark → `match --from`; the
    library, cases and data requests are those a DuckDB run on the same store makes."""
    url = f"sqlite:///{tmp_path}/store.sqlite"
    engine = fresh_store("sqlite", tmp_path)
    import_demo(engine, demo)
    publish(engine)
    policies_dir = str(SHIPPED)
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
    fed = runner.invoke(cli, ["match", "--from", str(tmp_path / "res"), "--as-of", str(AS_OF), "--db", url, "--json"])
    assert fed.exit_code == 0, fed.output
    spark_run = json.loads(fed.output)
    with engine.connect() as conn:
        from_spark = {(p.policy_id, p.uscc): (p.status, p.amount, p.unknown) for p in pairs(conn)}
        spark_cases = {(r.policy_id, r.uscc, r.amount) for r in conn.execute(select(cases))}
        spark_requests = {(r.uscc, r.field) for r in conn.execute(select(data_requests))}
    engine.dispose()
    # the same store matched by DuckDB
    (tmp_path / "duck").mkdir()
    other = fresh_store("sqlite", tmp_path / "duck")
    import_demo(other, demo)
    publish(other)
    duck_run = run_match(other, AS_OF)
    with other.connect() as conn:
        assert {(p.policy_id, p.uscc): (p.status, p.amount, p.unknown) for p in pairs(conn)} == from_spark
        assert {(r.policy_id, r.uscc, r.amount) for r in conn.execute(select(cases))} == spark_cases
        assert {(r.uscc, r.field) for r in conn.execute(select(data_requests))} == spark_requests
    other.dispose()
    assert spark_run["cases_created"] == duck_run.cases_created > 0
    assert [(t["policy_id"], t["eligible"], t["total"]) for t in spark_run["policies"]] == [
        (t.policy_id, t.eligible, format(t.total, "f")) for t in duck_run.policies
    ]


def _shipped() -> list[Policy]:
    from mianshen.rules.loader import read_policies

    return read_policies([SHIPPED])[0]


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


def test_field_comparisons_date_arithmetic_and_areas_on_spark_equal_duckdb(spark: Any, tmp_path: Path) -> None:
    """Month ends and 29 February in {field: …, years_after: 3} and months_between, and an area with an
    exclusion (全省除郑州市), on Spark as on DuckDB (which test_policy_field_compare and test_policy_scope
    hold to Python)."""
    from mianshen.rules.loader import load_policy_text

    from .test_checker import make_policy
    from .test_policy_field_compare import BASE, CONDITIONS, DERIVED, EDGE_DATES
    from .test_policy_scope import OUTSIDE_ZHENGZHOU, REGIONS, area

    text = make_policy(CONDITIONS, before_conditions=DERIVED, valid_from="2020-01-01", valid_to="2030-12-31")
    chosen = [load_policy_text(text, "dates.yaml"), area(OUTSIDE_ZHENGZHOU)]
    rows = []
    for i, founded in enumerate(EDGE_DATES):
        for j, loan in enumerate(EDGE_DATES):
            values = BASE | {"established_on": founded, "first_loan_date": loan, "employees": 7 * i}
            rows.append((f"9141010{i:05d}{j:06d}", values | {"region_code": REGIONS[(i + j) % len(REGIONS)]}))
    got, expected = spark_match(spark, tmp_path, chosen, rows, dt.date(2025, 6, 30))
    assert_same(got, expected)
    for policy in chosen:
        assert {r[0] for r in got[policy.id].values()} == {0, 1, 2}
