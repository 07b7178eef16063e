"""Demo data: valid and unique codes, sizes that follow the 划型 table, and a clean trip through the
real import path in which the only rejects are the defects the generator says it planted."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from mianshen.cli import data, demo_data  # noqa: F401  (registers the commands)
from mianshen.cli.main import cli
from mianshen.profiles.current import read_profile
from mianshen.profiles.demo_data import DemoSummary, generate
from mianshen.profiles.demo_population import generate as generate_entities
from mianshen.profiles.demo_sources import SOURCES
from mianshen.profiles.demo_tables import classify, size_row_for
from mianshen.reference.codes import normalize_industry
from mianshen.reference.uscc import check_uscc
from mianshen.store.db import open_store
from mianshen.store.schema import import_batches, import_rejects

AS_OF = dt.date(2025, 6, 30)
N = 1000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return generate(N, tmp_path_factory.mktemp("demo"), seed=7, as_of=AS_OF)


@pytest.fixture(scope="module")
def store(demo: DemoSummary, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every file imported through `mianshen data sources` and `mianshen data import`."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store')}/s.sqlite"
    runner = CliRunner()
    result = runner.invoke(cli, ["data", "sources", str(demo.out / "sources.yaml"), "--db", url])
    assert result.exit_code == 0, result.output
    for f in demo.files:
        args = [
            "data",
            "import",
            "--source",
            f["source"],
            "--as-of",
            AS_OF.isoformat(),
            "--rejects",
            str(demo.out / "rejects" / f"{f['source']}.csv"),
            str(demo.out / f["file"]),
            "--db",
            url,
        ]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
    return url


def _market(demo: DemoSummary) -> list[dict[str, str]]:
    with (demo.out / "market.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_all_files_and_definitions_are_written(demo: DemoSummary) -> None:
    for name in (
        "market.csv",
        "tax.parquet",
        "hrss.jsonl",
        "credit.csv",
        "zombie.csv",
        "industry.xlsx",
        "loans.csv",
        "sources.yaml",
        "manifest.json",
        "import.sh",
    ):
        assert (demo.out / name).is_file(), name
    manifest = json.loads((demo.out / "manifest.json").read_text("utf-8"))
    assert manifest["enterprises"] == N and len(manifest["files"]) == 7
    assert [f["rows"] for f in demo.files if f["source"] == "market"] == [N]
    assert demo.rejects > 0 and sum(f["conflicts"] for f in demo.files) >= 2
    assert sum(f["stale_rows"] for f in demo.files) > 0


def test_codes_are_valid_unique_and_henan(demo: DemoSummary) -> None:
    rows = _market(demo)
    codes = [r["统一社会信用代码"] for r in rows]
    assert len(set(codes)) == len(codes)
    malformed = [c for c in codes if len(c) != 18]
    market = next(f for f in demo.files if f["source"] == "market")
    assert len(malformed) == market["defects"]["malformed_uscc"]
    for code in codes:
        if code in demo.bad_uscc or code in malformed:
            assert not check_uscc(code).valid
            continue
        result = check_uscc(code)
        assert result.valid, (code, result.problems)
        assert result.subject_type in ("企业", "个体工商户", "农民专业合作社", "社会组织")
    subjects = Counter(r["市场主体类型"] for r in rows)
    assert subjects["个体工商户"] > subjects["企业"] > subjects["农民专业合作社"] > 0
    regions = Counter(r["住所行政区划"][:4] for r in rows)
    assert all(code.startswith("41") for code in (r["住所行政区划"] for r in rows))
    assert regions.most_common(1)[0][0] == "4101"  # 郑州 is the largest
    written = [r["行业代码"] for r in rows if r["行业代码"] and r["行业代码"] != "C0000"]
    assert all(normalize_industry(code) for code in written)
    assert any(c[0].isalpha() for c in written) and any(c[0].isdigit() for c in written)


def test_sizes_follow_the_size_table() -> None:
    entities = list(generate_entities(3000, random.Random(3), AS_OF, {}))
    sizes = Counter(e.size for e in entities)
    for e in entities:
        values = {"employees": e.employees, "revenue": e.revenue, "assets": e.assets}
        assert classify(size_row_for(e.industry), values) == e.size, e
    assert (sizes["微型"] + sizes["小型"]) / len(entities) > 0.9
    assert sizes["中型"] > 0
    sections = Counter(e.industry[0] for e in entities if e.subject == "个体工商户")
    assert sections.most_common(1)[0][0] == "F"
    firms = Counter(e.industry[0] for e in entities if e.subject == "企业")
    assert firms["C"] > firms["J"]


def test_import_rejects_only_the_planted_defects(demo: DemoSummary, store: str) -> None:
    engine = open_store(store)
    with engine.connect() as conn:
        counts: dict[str, Counter[str]] = {}
        query = (
            select(import_batches.c.file_name, import_rejects.c.severity, func.count())
            .join(import_rejects, import_rejects.c.batch_id == import_batches.c.id)
            .group_by(import_batches.c.file_name, import_rejects.c.severity)
        )
        for file_name, severity, count in conn.execute(query):
            counts.setdefault(file_name, Counter())[severity] = count
        for f in demo.files:
            got = counts.get(f["file"], Counter())
            assert got["error"] == f["rejects"], f
            assert got["warning"] == f["warnings"], f
            rows = conn.execute(select(import_batches.c.rows_read).where(import_batches.c.file_name == f["file"]))
            assert rows.scalar() == f["rows"]


def test_profiles_read_back_with_provenance_and_conflicts(demo: DemoSummary, store: str) -> None:
    code = next(r["统一社会信用代码"] for r in _market(demo) if check_uscc(r["统一社会信用代码"]).valid)
    result = CliRunner().invoke(cli, ["profile", "show", code, "--json", "--as-of", AS_OF.isoformat(), "--db", store])
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.output)
    assert shown["uscc_status"] == "valid"
    assert {"subject_type", "region_code", "serious_dishonesty", "zombie_enterprise"} <= set(shown["fields"])
    with (demo.out / "hrss.jsonl").open(encoding="utf-8") as handle:
        employers = [json.loads(line)["uscc"] for line in handle if '"employees": null' not in line]
    employers = [c for c in employers if len(c) == 18]
    engine = open_store(store)
    with engine.connect() as conn:
        conflicts = 0
        for code in employers:
            item = read_profile(conn, code, AS_OF).fields.get("employees")
            conflicts += bool(item and item.conflicts)
    assert conflicts == next(f["conflicts"] for f in demo.files if f["source"] == "hrss")


def test_same_seed_same_data(tmp_path: Path) -> None:
    first, second = generate(200, tmp_path / "a", 11, AS_OF), generate(200, tmp_path / "b", 11, AS_OF)
    assert first.manifest() == second.manifest()
    for name in ("market.csv", "hrss.jsonl", "credit.csv", "loans.csv", "sources.yaml"):
        assert (first.out / name).read_bytes() == (second.out / name).read_bytes(), name


def test_the_import_script_defaults_to_the_store_in_effect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sh import.sh` without an address imports into the var directory's store the files were made
    for (by its absolute path, from any folder), or into MIANSHEN_DATABASE_URL when that is set."""
    from mianshen.profiles.demo_sources import write_import_script

    monkeypatch.setenv("MIANSHEN_VAR_DIR", str(tmp_path / "运行目录"))
    script = write_import_script(tmp_path, AS_OF)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mianshen").write_text('#!/bin/sh\necho "$@" >> "$CALLS"\n', "utf-8")
    (bin_dir / "mianshen").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(tmp_path / "calls.txt")}
    elsewhere = tmp_path / "另一个目录"
    elsewhere.mkdir()
    subprocess.run(["sh", str(script)], cwd=elsewhere, env=env, check=True)
    calls = (tmp_path / "calls.txt").read_text("utf-8").splitlines()
    assert len(calls) == 1 + len(SOURCES)
    assert all(c.endswith(f"--db sqlite:///{tmp_path / '运行目录' / 'mianshen.sqlite'}") for c in calls), calls
    (tmp_path / "calls.txt").unlink()
    subprocess.run(
        ["sh", str(script)], cwd=elsewhere, env=env | {"MIANSHEN_DATABASE_URL": "postgresql://h/db"}, check=True
    )
    assert all(c.endswith("--db postgresql://h/db") for c in (tmp_path / "calls.txt").read_text("utf-8").splitlines())
