"""Screening a population: the same result on every engine, bad lines reported, never dropped silently."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import mianshen.cli.demo  # noqa: F401  (registers the commands)
import mianshen.cli.screen  # noqa: F401
from mianshen.cli.main import cli
from mianshen.rules.ast import Policy
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import SHIPPED
from mianshen.rules.population import read_population
from mianshen.sqlgen.screen import screen

from .conftest import ENGINES, ROOT

EXAMPLES = ROOT / "examples" / "enterprises.jsonl"
AS_OF = dt.date(2025, 6, 30)


@pytest.mark.parametrize("engine", ENGINES)
def test_screening_equals_one_by_one_evaluation(
    engine: str, engines: dict[str, Any], shipped_policies: list[Policy]
) -> None:
    profiles, rejected = read_population(EXAMPLES)
    assert not rejected and len(profiles) == 20
    summaries = screen(engines[engine], engine, shipped_policies, profiles, AS_OF)
    assert {s.policy.kind for s in summaries} <= {"条件类", "暂难数据化类"}  # lists are uploaded, not screened
    statuses = set()
    for summary in summaries:
        by_id = {row.id: row for row in summary.rows}
        for profile in profiles:
            expected = evaluate(summary.policy, profile, AS_OF)
            row = by_id[profile.id]
            assert (row.status, row.amount, list(row.failed), list(row.unknown)) == (
                expected.status,
                expected.amount,
                expected.failed,
                expected.unknown,
            )
            statuses.add(row.status)
    assert statuses == {"eligible", "ineligible", "unknown"}  # the examples exercise all three outcomes


def test_screen_reports_bad_lines_with_their_number(tmp_path: Path) -> None:
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines()[:3]
    broken = json.loads(lines[1])
    broken["fields"]["employees"] = "很多"
    population = tmp_path / "p.jsonl"
    population.write_text(
        "\n".join([lines[0], json.dumps(broken, ensure_ascii=False), "{not json", lines[0]]) + "\n", encoding="utf-8"
    )
    result = CliRunner().invoke(
        cli,
        [
            "screen",
            "--profiles",
            str(population),
            "--as-of",
            "2025-06-30",
            "--db",
            str(tmp_path / "s.sqlite"),
            "--policies",
            str(SHIPPED),
        ],
    )
    assert result.exit_code == 1
    assert f"{population}:2: 已拒收：" in result.output and "从业人员应为数字" in result.output
    assert f"{population}:3: 已拒收：不是有效的 JSON" in result.output
    assert f"{population}:4: 已拒收：企业 " in result.output and "重复出现" in result.output
    assert "1 家企业（拒收 3 行）" in result.output


def test_screen_json_summary_counts_every_enterprise(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "screen",
            "--profiles",
            str(EXAMPLES),
            "--as-of",
            "2025-06-30",
            "--json",
            "--db",
            str(tmp_path / "s.sqlite"),
            "--policies",
            str(SHIPPED),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["enterprises"] == 20
    for policy in summary["policies"]:
        assert policy["eligible"] + policy["ineligible"] + policy["unknown"] == 20
    wengang = next(p for p in summary["policies"] if p["id"] == "wengang-fanhuan")
    assert wengang["unknown"] > 0 and wengang["missing"]  # missing data is reported as a data request


def test_screen_writes_its_results_to_parquet_not_to_the_store(tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    args = ["screen", "--profiles", str(EXAMPLES), "--as-of", "2025-06-30", "--policies", str(SHIPPED)]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    import duckdb

    rows = duckdb.sql(f"SELECT policy_id, enterprise_id, status FROM '{out}'").fetchall()
    assert len(rows) == 20 * len({r[0] for r in rows}) and {r[2] for r in rows} == {"eligible", "ineligible", "unknown"}
    assert "写入 Parquet 文件" in result.output


def test_screen_writes_every_pair_to_the_parquet_file(tmp_path: Path, shipped_policies: list[Policy]) -> None:
    """`--out`: one row per enterprise and policy, with its status, exact amount and reasons."""
    import duckdb

    out = tmp_path / "results.parquet"
    args = ["screen", "--profiles", str(EXAMPLES), "--as-of", "2025-06-30", "--policies", str(SHIPPED)]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    profiles, _ = read_population(EXAMPLES)
    screened = [
        p
        for p in shipped_policies
        if p.kind in ("条件类", "暂难数据化类")
        and p.valid_from <= AS_OF
        and (p.valid_to is None or p.valid_to >= AS_OF)
    ]
    rows = duckdb.sql(f"SELECT * FROM '{out}' ORDER BY policy_id, enterprise_id").fetchall()
    assert len(rows) == len(profiles) * len(screened)
    expected = []
    for policy in sorted(screened, key=lambda p: p.id):
        for profile in sorted(profiles, key=lambda p: p.id):
            r = evaluate(policy, profile, AS_OF)
            amount = None if r.amount is None else r.amount.quantize(Decimal("0.01"))
            failed, unknown = ",".join(r.failed), ",".join(r.unknown)
            expected.append((policy.id, policy.version, profile.id, AS_OF, r.status, amount, failed, unknown))
    assert rows == expected
