"""Smoke test of `mianshen bench scale` on a tiny snapshot: each run writes a library layer holding
every enterprise × policy result, the copied population is really bigger, and our counts equal the
hand-written query's (the command fails otherwise). Timings and memory are printed, never asserted."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from click.testing import CliRunner

import mianshen.cli.bench_scale  # noqa: F401  (registers `bench scale`)
from mianshen.cli.main import cli


def test_bench_scale_writes_every_pair(tmp_path: Path) -> None:
    args = ["bench", "scale", "--enterprises", "300", "--copies", "1", "--copies", "2", "--policies", "10"]
    result = CliRunner().invoke(cli, [*args, "--dir", str(tmp_path), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [r["enterprises"] for r in report["runs"]] == [300, 600]
    for run in report["runs"]:
        assert run["counts_equal"] is True and run["result_rows"] == run["enterprises"] * 10
        assert run["ours_peak_mib"] > 0 and run["handwritten_peak_mib"] > 0
        written = tmp_path / f"library-{run['enterprises']}"
        ids = duckdb.sql(f"SELECT count(DISTINCT id), count(*) FROM '{written}/results-*.parquet'").fetchall()[0]
        assert ids == (run["enterprises"], run["enterprises"])  # copies carry their own USCC: one row each
