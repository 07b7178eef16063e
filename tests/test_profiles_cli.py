"""The data manager's commands: sources, import with a reject report, profile show, gaps, quality."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

import mianshen.cli.data  # noqa: F401  (registers the commands)
from mianshen.cli.main import cli

from .test_profiles_import import MARKET, SOURCES, TAX


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_import_then_show_and_quality(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/s.sqlite"
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "market.csv").write_text(MARKET, encoding="utf-8")
    (tmp_path / "tax.csv").write_text(TAX, encoding="utf-8")
    code, out = run("data", "sources", str(tmp_path / "sources.yaml"), "--db", db)
    assert code == 0 and "market" in out and "时效 30 天" in out
    rejects = tmp_path / "rejects.csv"
    code, out = run(
        "data",
        "import",
        "--source",
        "market",
        str(tmp_path / "market.csv"),
        "--as-of",
        "2025-06-30",
        "--db",
        db,
        "--rejects",
        str(rejects),
    )
    assert code == 0 and "接收 3 行" in out and "拒收 2 行" in out and "第 4 行 拒收" in out
    with rejects.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:2] == ["行号", "类别"] and {r[0] for r in rows[1:]} == {"3", "4", "5"}  # two rejects, one warning
    code, out = run(
        "data", "import", "--source", "market", str(tmp_path / "market.csv"), "--as-of", "2025-06-30", "--db", db
    )
    assert code == 0 and "已导入过，本次不做任何改动" in out
    run(
        "data",
        "import",
        "--source",
        "tax",
        str(tmp_path / "tax.csv"),
        "--db",
        db,
        "--rejects",
        str(tmp_path / "r2.csv"),
    )
    code, out = run("profile", "show", "91110108551385082Q", "--as-of", "2025-06-30", "--db", db, "--json")
    shown = json.loads(out)
    assert shown["fields"]["revenue_last_year"]["value"] == "12345600.00"
    assert (
        shown["fields"]["revenue_last_year"]["as_of"] == "2025-03-31"
        and "税务局" in shown["fields"]["revenue_last_year"]["source"]
    )
    assert shown["fields"]["size_class"]["derived"] is True
    code, out = run("profile", "show", "91110108551385082X", "--db", db)
    assert code != 0 and "没有统一社会信用代码为" in out
    code, out = run("profile", "gaps", "91110108551385082Q", "--as-of", "2025-06-30", "--db", db)
    assert "失业保险稳岗返还" in out and "请人力资源和社会保障厅提供" in out
    code, out = run("data", "quality", "--as-of", "2025-06-30", "--db", db, "--json")
    report = json.loads(out)
    assert report["enterprises"] == 3
    assert any(p["policy"] == "wengang-fanhuan" and p["data_requests"] for p in report["policies"])


def test_override_needs_actor_and_reason(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/s.sqlite"
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "market.csv").write_text(MARKET, encoding="utf-8")
    run("data", "sources", str(tmp_path / "sources.yaml"), "--db", db)
    run(
        "data",
        "import",
        "--source",
        "market",
        str(tmp_path / "market.csv"),
        "--as-of",
        "2025-06-30",
        "--db",
        db,
        "--rejects",
        str(tmp_path / "r.csv"),
    )
    code, out = run(
        "data", "uscc-override", "91110108551385082F", "--actor", "李四", "--reason", "登记机关书面确认", "--db", db
    )
    assert code == 0 and "已核定" in out
    code, out = run("profile", "show", "91110108551385082F", "--db", db)
    assert "已人工核定" in out
