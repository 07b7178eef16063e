"""The case, list, apply and pay commands, run as an operator would (one 名单类 and one application)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mianshen.cli.main import cli
from mianshen.store.db import open_store

from .test_cases_fixtures import ACCOUNT, APPLIED, HRSS, KEJI, LISTED, firm, publish, sm4_key  # noqa: F401


def run(*args: str) -> str:
    import mianshen.cli.case  # noqa: F401  (registers the commands)
    import mianshen.cli.pay  # noqa: F401

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_list_case_and_pay_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/cli.sqlite"
    with open_store(db).begin() as conn:
        publish(conn, LISTED)
        publish(conn, APPLIED)
    listing = tmp_path / "list.csv"
    listing.write_text(f"统一社会信用代码,金额,备注\n{firm(1)},100000,甲\nBAD,1,乙\n", encoding="utf-8")
    dept = ["--actor", "李处长", "--department", KEJI, "--db", db]
    out = run(
        "list",
        "upload",
        "--policy",
        LISTED,
        str(listing),
        "--rejects",
        str(tmp_path / "rej.csv"),
        "--on",
        "2025-09-20",
        *dept,
    )
    assert "立案并通知 1 家，拒收 1 行" in out and (tmp_path / "rej.csv").exists()
    ent = ["--actor", "企业经办人", "--uscc", firm(1), "--db", db]
    assert "企业已确认" in run("case", "confirm", "1", "--amount", "100000", "--account", ACCOUNT, "--sign", *ent)
    run("case", "review", "1", "--on", "2025-09-29", *dept)
    assert "2025-10-14" in run("case", "publicity", "1", "--start", "2025-09-30", *dept)
    assert "审核通过" in run("case", "approve", "1", "--on", "2025-10-15", *dept)
    fin = ["--actor", "赵会计", "--role", "finance", "--db", db]
    assert "合计 1 件，100000.00 元" in run("pay", "batch", "--policy", LISTED, *fin)
    run("pay", "export", "1", "--format", "json", "--out", str(tmp_path / "b.json"), *fin)
    assert (
        json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))["rows"][0]["收款人账号"] == "6222 **** **** 1234"
    )
    run("pay", "mark-paid", "1", *fin)
    assert "对账一致" in run("pay", "reconcile", "--db", db)
    shown = run("case", "show", "1", "--db", db)
    assert "已拨付" in shown and "6222 **** **** 1234" in shown and ACCOUNT not in shown

    form = json.dumps({"联系人": "张三"}, ensure_ascii=False)
    material = tmp_path / "材料.pdf"
    material.write_bytes(b"pdf")
    ent2 = ["--actor", "经办人", "--uscc", firm(2), "--db", db]
    assert "申请已受理：案件 2" in run(
        "apply",
        "--policy",
        APPLIED,
        "--form",
        form,
        "--attach",
        str(material),
        "--files-dir",
        str(tmp_path / "f"),
        *ent2,
    )
    assert "已通知" in run("case", "list", "--policy", APPLIED, "--db", db)

    refused = CliRunner().invoke(
        cli, ["case", "reject", "2", "--reason", "x", "--actor", "审计", "--role", "auditor", "--db", db]
    )
    assert refused.exit_code != 0
    refused = CliRunner().invoke(
        cli, ["case", "reject", "2", "--reason", "x", "--actor", "王", "--department", HRSS + "x", "--db", db]
    )
    assert refused.exit_code != 0
