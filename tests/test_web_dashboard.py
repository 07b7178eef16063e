"""监督问效: numbers equal counts from the tables; 兑现时长 in working days; charts optional; export."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select, update

from mianshen.store.schema import cases, objections
from mianshen.web.console.metrics import median, p90
from mianshen.web.routes import dashboard

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import POLICY, case_ids, enterprise_client, login, paid_in_known_spans

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env


def row(body: dict[str, object], policy_id: str = POLICY) -> dict[str, object]:
    return next(p for p in body["policies"] if p["policy_id"] == policy_id)  # type: ignore[attr-defined,index]


def test_median_and_p90() -> None:
    assert median([]) is None and p90([]) is None
    assert median([4, 9, 2]) == 4 and p90([4, 9, 2]) == 9
    assert median([1, 2, 3, 4]) == 2.5 and p90(list(range(1, 11))) == 9 and p90(list(range(1, 12))) == 10


def test_numbers_equal_the_tables_and_durations_are_working_days(site: Engine) -> None:
    ids = case_ids(site)
    paid = ids[:3]
    paid_in_known_spans(site, paid)
    overdue = ids[3]
    with site.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == overdue).values(state="notified", deadline=dt.date(2025, 1, 1)))
    body = login(site, "hr").get("/api/dashboard").json()
    mine = row(body)
    with site.connect() as conn:
        total = conn.execute(select(func.count()).where(cases.c.policy_id == POLICY)).scalar_one()
        amounts = conn.execute(select(cases.c.confirmed_amount).where(cases.c.id.in_(paid))).scalars().all()
        raised = conn.execute(select(func.count()).select_from(objections)).scalar_one()
    assert mine["matched"] == total and mine["paid"] == 3 and mine["approved"] == 3 and mine["confirmed"] == 3
    assert mine["notified"] == 3
    with site.connect() as conn:
        waiting = conn.execute(
            select(func.count()).where(cases.c.policy_id == POLICY, cases.c.state == "matched")
        ).scalar_one()
    assert mine["awaiting_notice"] == waiting > 0  # matched, never notified: visible, not lost in 匹配
    from decimal import Decimal

    assert Decimal(mine["paid_amount"]) == sum(Decimal(a) for a in amounts) == Decimal(mine["approved_amount"])
    assert mine["median_days"] == 4 and mine["p90_days"] == 9
    assert mine["overdue"] == 1 and mine["objections"] == raised == 0
    assert mine["unclaimed"] == 0  # every eligible enterprise has a live case
    dept = next(d for d in body["departments"] if d["department"] == wf.HRSS)
    assert dept["matched"] >= mine["matched"] and dept["median_days"] == 4


def test_department_sees_its_own_and_outsiders_are_refused(site: Engine) -> None:
    body = login(site, "kj").get("/api/dashboard").json()
    assert {p["department"] for p in body["policies"]} == {wf.KEJI}
    assert {p["policy_id"] for p in login(site, "aud").get("/api/dashboard").json()["policies"]} >= {POLICY}
    for url in ("/dashboard", "/api/dashboard", "/dashboard/export.xlsx", "/api/dashboard/export.xlsx"):
        signed_out = login(site, None).get(url)
        assert signed_out.status_code == (401 if url.startswith("/api/") else 303)  # a page sends to sign-in
        assert login(site, "fin").get(url).status_code == 403
        assert enterprise_client(site, "91410102000000001X").get(url).status_code == 403


def test_page_charts_when_vendored_and_a_note_otherwise(
    site: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hr = login(site, "hr")
    fake = tmp_path / "echarts.min.js"
    fake.write_text("/* test */")
    monkeypatch.setattr(dashboard, "ECHARTS", fake)
    page = hr.get("/dashboard")
    assert page.status_code == 200 and "/static/vendor/echarts.min.js" in page.text and "cdn" not in page.text.lower()
    monkeypatch.setattr(dashboard, "ECHARTS", tmp_path / "absent.js")
    page = hr.get("/dashboard")
    assert "图表组件（ECharts）未安装" in page.text and "echarts.min.js" not in page.text
    assert "一次性扩岗补助" in page.text
    assert hr.get("/static/js/dashboard.js").status_code == 200


def test_export_is_xlsx_with_text_cells(site: Engine) -> None:
    r = login(site, "hr").get("/dashboard/export.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "部门" and "兑现时长中位数（工作日）" in values[0]
    assert any(v[1] == POLICY for v in values[1:])
    assert all(isinstance(c, str) or c is None for v in values for c in v)


def test_no_page_offers_a_staff_member_a_link_that_refuses_them(site: Engine) -> None:
    """The data manager opens 监督问效 (应享未享 is the data bureau's number); every role's header and
    console links open for that role — none answers 403."""
    import re

    from mianshen.web.accounts import add_user

    with site.begin() as conn:
        add_user(conn, "dm", wf.PASSWORD, "data_manager", "数据管理员")
    for name in ("hr", "fin", "aud", "admin", "dm"):
        client = login(site, name)
        links = set(re.findall(r'<a href="(/[^"#?]*)"', client.get("/console").text))
        assert "/dashboard" in links or name == "fin"
        for link in sorted(links - {"/docs"}):
            assert client.get(link).status_code != 403, f"{name} offered {link} but refused"


def test_the_budget_chart_says_why_it_is_empty(site: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mianshen.store.schema import policy_versions

    fake = tmp_path / "echarts.min.js"
    fake.write_text("/* test */")
    monkeypatch.setattr(dashboard, "ECHARTS", fake)
    hr = login(site, "hr")
    with site.begin() as conn:
        conn.execute(update(policy_versions).values(budget=None))
    page = hr.get("/dashboard").text
    assert "预算使用率图暂无数据：目前没有政策设定预算" in page and 'id="chart-budget"' not in page
    with site.begin() as conn:
        conn.execute(update(policy_versions).where(policy_versions.c.policy_id == POLICY).values(budget="900000"))
    page = hr.get("/dashboard").text
    assert "暂无数据：目前没有政策设定预算" not in page and 'id="chart-budget"' in page
