"""Smoke test of `mianshen bench run` on a tiny population: the table has its rows and our results equal
the hand-written query's counts. Timings are printed by the command and never asserted here."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

import mianshen.cli.bench_match as bench_match  # registers `bench match` / `bench run`
from mianshen.benchmarks import matching
from mianshen.benchmarks.handwritten import handwritten_sql
from mianshen.benchmarks.variants import FAMILIES, make_variants
from mianshen.cli.main import cli
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import SHIPPED
from mianshen.rules.profile import Profile
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.engines import duckdb_connect, load_profiles

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2025, 6, 30)


def test_bench_run_quick_table(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["bench", "run", "--quick", "--enterprises", "200", "--no-compare"]
    args += ["--policies", "10", "--repetitions", "3", "--dir", str(tmp_path), "--json"]
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["counts_equal"] is True  # full_run raises AssertionError when the counts differ
    assert report["enterprises"] > 0 and report["policies"] == 10
    assert report["rematch_scope"] == "incremental" and report["rematch_changed"] > 0
    rows = [row[0] for row in bench_match.table(report)]
    for prefix in (
        "(a) ",
        "(a′) ",
        "(b) 手写",
        "(b) 倍数",
        "(b′) 同样的输出",
        "(c) OpenFisca",
        "(c) zen-engine",
        "(d) ",
        "(e) ",
    ):
        assert any(r.startswith(prefix) for r in rows), prefix
    assert report["cases_created"] > 0 and report["rematch_evaluated"] == report["rematch_changed"] * 10


def test_variants_and_handwritten_agree_with_the_evaluator(tmp_path: Path) -> None:
    """100 distinct variants over every family; the hand-written query equals the Python evaluator."""
    variants = make_variants(tmp_path / "v", 100, SHIPPED)
    assert len({v.policy.id for v in variants}) == 100
    assert Counter(v.family for v in variants) == {f: 20 for f in FAMILIES}
    profiles = [
        Profile(
            "91410100MA0000001X",
            {
                "subject_type": "企业",
                "restricted_industry": False,
                "taxable_income_annual": 2_000_000,
                "employees_quarterly_avg": 150,
                "assets_quarterly_avg": 30_000_000,
                "qualified_youth_hires": 2,
            },
        ),
        Profile("91410100MA0000002X", {"subject_type": "社会组织", "qualified_youth_hires": 1}),
    ]
    duck = duckdb_connect()
    fields = sorted({f for v in variants for f in needed_fields(v.policy)})
    load_profiles(duck, "duckdb", matching.TABLE, fields, [(p.id, p.values) for p in profiles])
    limit = matching.limits(duck, len(profiles), variants, AS_OF, repeat=1)
    duck.close()
    expected = Counter((v.policy.id, evaluate(v.policy, p, AS_OF).status) for v in variants for p in profiles)
    assert limit.handwritten == expected
    assert "UNION ALL" in handwritten_sql(variants)
