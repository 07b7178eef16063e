"""Every role's pages at desktop and phone widths, signed in as that role, with screenshots in
var/screenshots/ (`40-<role>-<page>-<width>.png`): the public, the enterprise, a department, finance,
the data manager, the auditor (the audit chain verified, a paid case's whole history) and the platform
administrator (checking a policy). Every page is scanned for code identifiers; on a phone it must fit
its width, every table cell carries its label and no number breaks across lines (pages.check)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from mianshen.audit.log import Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.payments import create_batch, mark_batch_paid
from mianshen.store.schema import cases, data_needs, payment_batches
from tests.browser.conftest import AS_OF, shot
from tests.browser.pages import WIDTHS, check, enterprise, staff, visit

POLICY = "wengang-fanhuan"
PAGES = {  # role → the pages of its job ({paid}: a paid case, {batch}: a payment batch, {field}: a data item)
    "public": ["/", "/policies", f"/policies/{POLICY}", "/guides", "/publicity"],
    "enterprise": ["/my", f"/my/policies/{POLICY}", "/my/cases/{case}", "/my/profile", "/my/corrections"],
    "hrss": [
        "/console",
        "/console/cases",
        "/console/cases/{paid}",
        "/console/approvals",
        "/console/objections",
        "/console/requests",
        f"/console/policies/{POLICY}",
        "/console/bulk/new",
        "/dashboard",
    ],
    "finance": ["/console", "/console/payments", "/console/payments/batches/{batch}"],
    "datamgr": ["/console", "/console/requests", "/console/requests/{field}", "/dashboard"],
    "auditor": ["/audit", "/console/cases/{paid}", "/dashboard", "/console/requests", "/console/payments"],
    "admin": ["/console", "/console/approvals", "/dashboard", "/audit", f"/console/policies/new?from={POLICY}"],
}


@pytest.fixture(scope="module")
def places(site: dict[str, Any]) -> dict[str, Any]:
    """A paid case (with its batch) and the data item most asked for, made now if the walks before
    this one left none."""
    engine = site["engine"]
    with engine.connect() as conn:
        paid = conn.execute(select(cases.c.id).where(cases.c.state == "paid").limit(1)).scalar()
        field = conn.execute(select(data_needs.c.field).order_by(data_needs.c.enterprises.desc()).limit(1)).scalar()
    if paid is None:
        paid = _pay_one(engine, site["department"])
    with engine.connect() as conn:
        batch = conn.execute(select(payment_batches.c.id).order_by(payment_batches.c.id.desc()).limit(1)).scalar()
    return {"case": site["case_id"], "paid": paid, "batch": batch, "field": field}


def _pay_one(engine: Any, department: str) -> int:
    hr, finance = Actor("人社厅经办人", "department", department), Actor("财政厅出纳", "finance")
    with engine.connect() as conn:
        case_id, uscc = conn.execute(
            select(cases.c.id, cases.c.uscc).where(cases.c.policy_id == POLICY, cases.c.state == "matched").limit(1)
        ).one()
    start = AS_OF - dt.timedelta(days=40)
    with engine.begin() as conn:
        case = tr.load_case(conn, case_id)
        tr.notify(conn, case_id, hr, AS_OF + dt.timedelta(days=20))
        who = Actor("经办人", "enterprise", None, uscc)
        bank = ("中国工商银行郑州花园路支行", "102491002345")
        tr.confirm(conn, case_id, who, Decimal(case["amount"]), "6222 0216 0400 1234 567", "承诺", *bank)
        review.begin_review(conn, case_id, hr, start)
        review.open_publicity(conn, case_id, hr, start, stale_reason="测试")
        review.decide(conn, case_id, hr, AS_OF)
    mark_batch_paid(engine, create_batch(engine, POLICY, finance).batch_id, finance)
    return int(case_id)


def _open(browser: Any, site: dict[str, Any], role: str, width: str) -> Any:
    if role == "public":
        return browser.new_context(viewport=WIDTHS[width], locale="zh-CN").new_page()
    if role == "enterprise":
        return enterprise(browser, site, site["uscc"], width=width)
    return staff(browser, site, role, width)


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("role", list(PAGES))
def test_every_role_walks_its_pages(
    site: dict[str, Any], browser: Any, places: dict[str, Any], role: str, width: str
) -> None:
    page = _open(browser, site, role, width)
    for n, path in enumerate(PAGES[role]):
        url = site["base"] + path.format(**places)
        visit(page, url, f"40-{role}-{n}-{width}")
        assert page.url.startswith(url.split("?")[0]), f"{role} 打开 {path} 被转到 {page.url}"
        assert "无权办理此事项" not in page.inner_text("main") and "没有找到" not in page.inner_text("h1")
    if role == "auditor":
        visit(page, site["base"] + "/audit")
        assert "哈希链校验通过" in page.inner_text("main")
        visit(page, site["base"] + f"/console/cases/{places['paid']}", f"41-auditor-paid-history-{width}")
        history = page.inner_text("main")
        assert all(step in history for step in ("企业已确认", "审核中", "公示中", "审核通过", "已拨付")), history
    if role == "admin":  # the administrator checks a policy: errors at lines, tests run
        page.click("button:has-text('检查并运行测试')")
        page.wait_for_selector("text=检查通过", timeout=60_000)
        check(page)
        shot(page, f"42-admin-checked-{width}")
