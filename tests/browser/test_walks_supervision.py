"""Supervision that acts, in a real browser at desktop and phone widths (screenshots 60-… in
var/screenshots/): the demo advanced through working days on the platform clock so that matched cases
go past their commitment; the worker's `supervise` job hands 督办 items to the departments; the
department takes one up and closes it with a reply; days later an open item goes 逾期 and is escalated
to the 专班; the platform and the auditor read the overdue ledger, the dashboard, the evaluation of
稳岗返还 and the scorecard; the public reads /overdue; the enterprise sees its case's delay. Every
number checked on a page is counted again case by case from the store."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from mianshen.audit.log import Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.payments import create_batch, mark_batch_paid
from mianshen.jobs.runner import run_once
from mianshen.reference.workdays import add_working_days
from mianshen.store.schema import case_events, cases, enterprises, policy_versions, supervision_items
from mianshen.supervision import commitments as cm
from mianshen.supervision import items
from tests.browser.conftest import AS_OF
from tests.browser.pages import WIDTHS, enterprise, staff, visit

POLICY = "wengang-fanhuan"
DAY1 = add_working_days(AS_OF, 12).date  # twelve working days on: matched cases are 7 past their 5
DAY2 = add_working_days(DAY1, items.REPLY_DAYS + 1).date  # the items' own deadline has passed


def overdue_from_store(engine: Any, day: dt.date) -> dict[str, Counter[str]]:
    """Overdue cases by stage, per department and in all, one case at a time."""
    out: dict[str, Counter[str]] = {"": Counter()}
    with engine.connect() as conn:
        dept = dict(conn.execute(select(policy_versions.c.policy_id, policy_versions.c.department)).all())
        for row in conn.execute(select(cases)).mappings():
            found = cm.case_commitment(conn, dict(row), day)
            if found and found["days_over"] > 0:
                out[""][found["stage"]] += 1
                out.setdefault(dept[row["policy_id"]], Counter())[found["stage"]] += 1
    return out


def _pay_three(engine: Any, department: str) -> None:
    """Three 稳岗返还 cases through review, 公示, approval and payment (the services, not the pages);
    matched or already notified, whichever the walks before this one left."""
    hr, finance = Actor("人社厅经办人", "department", department), Actor("财政厅出纳", "finance")
    with engine.connect() as conn:
        chosen = conn.execute(
            select(cases.c.id, cases.c.uscc, cases.c.amount, cases.c.state)
            .where(cases.c.policy_id == POLICY, cases.c.state.in_(("matched", "notified")))
            .order_by(cases.c.id)
            .limit(3)
        ).all()
    assert len(chosen) == 3
    start = AS_OF - dt.timedelta(days=40)
    for case_id, uscc, amount, state in chosen:
        with engine.begin() as conn:
            if state == "matched":
                tr.notify(conn, case_id, hr, AS_OF + dt.timedelta(days=20))
            who = Actor("经办人", "enterprise", None, uscc)
            bank = ("中国工商银行郑州花园路支行", "102491002345")
            tr.confirm(conn, case_id, who, Decimal(amount), "6222 0216 0400 1234 567", "承诺", *bank)
            review.begin_review(conn, case_id, hr, start)
            review.open_publicity(conn, case_id, hr, start, stale_reason="测试")
            review.decide(conn, case_id, hr, AS_OF)
    mark_batch_paid(engine, create_batch(engine, POLICY, finance).batch_id, finance)


@pytest.fixture(scope="module")
def advanced(site: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The platform clock moved to DAY1, three cases paid, and the worker's supervise job run."""
    engine = site["engine"]
    # test_roles copies 稳岗返还 cases with periods named "copy-N" and "copy-phone-N" (its own filters); the
    # evaluation page lists every period, so for this walk they read as Chinese, and are named back afterwards
    names = (("copy-phone-", "副本手机-"), ("copy-", "副本-"))
    with engine.begin() as conn:
        for code, shown in names:
            conn.execute(
                update(cases)
                .where(cases.c.period.startswith(code))
                .values(period=shown + func.substr(cases.c.period, len(code) + 1))
            )
    with pytest.MonkeyPatch.context() as mp:
        _pay_three(engine, site["department"])
        mp.setenv("MIANSHEN_TODAY", DAY1.isoformat())
        results = run_once(engine, DAY1, ["supervise"])
        assert [r.status for r in results] == ["ok"], results
        yield {"raised": results[0].changed}
    # leaving the block restores the demo date for the tests that follow
    with engine.begin() as conn:
        for code, shown in names:
            conn.execute(
                update(cases)
                .where(cases.c.period.startswith(shown))
                .values(period=code + func.substr(cases.c.period, len(shown) + 1))
            )


def item_rows(engine: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(supervision_items).order_by(supervision_items.c.id)).mappings()]


def raised_from_store(engine: Any, day: dt.date) -> set[str]:
    """The policy stages whose longest overdue case has reached the threshold, case by case."""
    out = set()
    with engine.connect() as conn:
        for row in conn.execute(select(cases)).mappings():
            found = cm.case_commitment(conn, dict(row), day)
            if found and found["days_over"] >= items.threshold():
                out.add(f"policy:{row['policy_id']}:{found['stage']}")
    return out


def text_of(page: Any, selector: str) -> str:
    return str(page.inner_text(selector)).strip()


def test_supervision_walk_at_desktop(site: dict[str, Any], browser: Any, advanced: dict[str, Any]) -> None:
    engine, base = site["engine"], site["base"]
    expected = overdue_from_store(engine, DAY1)
    total = sum(expected[""].values())
    assert expected[""]["notify"] > 0  # the demo's matched cases went past the 5-day commitment

    # the worker's items are exactly the stages the store says are over the threshold
    raised = item_rows(engine)
    wanted = raised_from_store(engine, DAY1)
    assert {r["subject"] for r in raised if r["kind"] == "case_overdue"} == wanted and advanced["raised"] >= len(wanted)

    admin = staff(browser, site, "admin")
    visit(admin, base + "/console/ledger", "60-ledger-admin-desktop")
    assert text_of(admin, "#ledger-total") == f"逾期案件共 {total} 件。"
    for stage in cm.STAGES:
        assert text_of(admin, f'td[data-stage="{stage.key}"]') == str(expected[""][stage.key])
    visit(admin, base + "/dashboard", "61-dashboard-admin-desktop")
    assert text_of(admin, "#overdue-total strong") == f"{total:,}"
    assert text_of(admin, '#backlog td[data-stage="notify"]') == f"{expected['']['notify']:,}"

    # the department's workbench lists its items first; it takes one up and closes it with a reply
    hr = staff(browser, site, "hrss")
    visit(hr, base + "/console", "62-items-on-workbench-desktop")
    mine = [r for r in raised if r["department"] == site["department"] and r["kind"] == "case_overdue"]
    assert mine and text_of(hr, "#open-items h2").startswith("督办事项（未办结")
    first = mine[0]
    row = hr.locator(f"#supervision-items tr:has(td:text-is('DB{first['id']}'))")
    row.locator("button:has-text('签收办理')").click()
    hr.wait_for_load_state()
    row = hr.locator(f"#supervision-items tr:has(td:text-is('DB{first['id']}'))")
    assert "办理中" in row.inner_text()
    row.locator("summary:has-text('办结')").click()
    row.locator("textarea[name=reply]").fill("已逐件通知企业，积压已清，另安排专人每日通知")
    row.locator("button:has-text('办结')").click()
    hr.wait_for_load_state()
    visit(hr, base + "/console/supervision", "63-item-closed-desktop")
    closed = {r["id"]: r for r in item_rows(engine)}[first["id"]]
    assert closed["status"] == "done" and closed["replied_by"] == "人社厅经办人"
    assert "已逐件通知企业" in hr.inner_text(f"#supervision-items tr:has(td:text-is('DB{first['id']}'))")

    # the auditor reads the ledger and the evaluation of 稳岗返还
    auditor = staff(browser, site, "auditor")
    visit(auditor, base + "/console/ledger", "64-ledger-auditor-desktop")
    assert text_of(auditor, "#ledger-total") == f"逾期案件共 {total} 件。"
    visit(auditor, base + f"/console/performance?policy={POLICY}", "65-performance-wengang-desktop")
    lines = dict(
        (text_of_cell.split("\t")[0], text_of_cell.split("\t")[-1])
        for text_of_cell in auditor.inner_text("#performance").strip().split("\n")
    )
    with engine.connect() as conn:
        opened = conn.execute(select(func.count()).where(cases.c.policy_id == POLICY)).scalar_one()
        reached = dict(
            conn.execute(
                select(case_events.c.to_state, func.count(func.distinct(case_events.c.case_id)))
                .join(cases, cases.c.id == case_events.c.case_id)
                .where(cases.c.policy_id == POLICY)
                .group_by(case_events.c.to_state)
            ).all()
        )
    if auditor.locator("#no-charts").count() == 0:  # ECharts installed: both charts drawn on the page
        assert auditor.locator("#chart-stages canvas").count() == 1
        assert auditor.locator("#chart-regions canvas").count() == 1
    assert lines["立案"] == str(opened) and lines["已拨付"] == str(reached["paid"]) and reached["paid"] >= 3
    assert lines["已通知"] == str(reached["notified"])

    # the scorecard: the department's overdue cases as counted case by case; the rule is stated
    visit(admin, base + "/console/scorecard", "66-scorecard-desktop")
    assert "排名规则" in text_of(admin, "#rule")
    cells = admin.locator(
        f"#scorecard-departments tr:has(td[data-key=name]:text-is('{site['department']}')) td[data-key=overdue]"
    )
    assert cells.inner_text().strip() == str(sum(expected[site["department"]].values()))

    # the public page: the same total, no enterprise names
    public = browser.new_context(viewport=WIDTHS["desktop"], locale="zh-CN").new_page()
    visit(public, base + "/overdue", "67-overdue-public-desktop")
    assert text_of(public, "#ledger-total") == f"逾期案件共 {total} 件。"
    with engine.connect() as conn:
        names = list(conn.execute(select(enterprises.c.name).limit(50)).scalars())
    html = public.content()
    assert not [n for n in names if n and n in html]

    # days later the open items are past their own deadline: the worker marks them 逾期 and they rise
    # to the top of the 专班's workbench, marked as escalated
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIANSHEN_TODAY", DAY2.isoformat())
        assert run_once(engine, DAY2, ["supervise"])[0].status == "ok"
        late = [r for r in item_rows(engine) if r["status"] == "overdue"]
        assert late and all(r["id"] != first["id"] for r in late)
        admin2 = staff(browser, site, "admin")
        visit(admin2, base + "/console", "68-escalated-on-zhuanban-desktop")
        top = admin2.locator("#supervision-items tbody tr").first
        assert "已升级至工作专班" in top.inner_text() and "逾期" in top.inner_text()
        assert admin2.locator("#supervision-items .escalated").count() == len(late)
        visit(admin2, base + "/audit")
        assert "督办事项逾期，升级至工作专班" in admin2.inner_text("main")


def test_supervision_pages_at_phone_width(site: dict[str, Any], browser: Any, advanced: dict[str, Any]) -> None:
    """The same pages fit a phone (tables become labelled cards) and show the same totals."""
    engine, base = site["engine"], site["base"]
    total = sum(overdue_from_store(engine, DAY1)[""].values())
    admin = staff(browser, site, "admin", "phone")
    for path, name in (
        ("/console/ledger", "60-ledger-admin-phone"),
        ("/dashboard", "61-dashboard-admin-phone"),
        ("/console/supervision", "63-items-phone"),
        (f"/console/performance?policy={POLICY}", "65-performance-wengang-phone"),
        ("/console/scorecard", "66-scorecard-phone"),
    ):
        visit(admin, base + path, name)
    hr = staff(browser, site, "hrss", "phone")
    visit(hr, base + "/console", "62-items-on-workbench-phone")
    assert hr.locator("#open-items").count() == 1
    public = browser.new_context(viewport=WIDTHS["phone"], locale="zh-CN").new_page()
    visit(public, base + "/overdue", "67-overdue-public-phone")
    assert text_of(public, "#ledger-total") == f"逾期案件共 {total} 件。"

    # days later, the enterprise whose case was notified on the demo date sees its commitment and delay
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIANSHEN_TODAY", DAY2.isoformat())
        with engine.connect() as conn:
            case = dict(conn.execute(select(cases).where(cases.c.id == site["case_id"])).mappings().one())
            promised = cm.case_commitment(conn, case, DAY2)
        page = enterprise(browser, site, site["uscc"], f"/my/cases/{site['case_id']}")
        visit(page, page.url, "69-enterprise-commitment-phone")
        body = page.inner_text("main")
    if promised is not None:  # another walk may have taken the case further
        k = promised
        assert f"当前环节：{k['label']}，自{k['since']}起 {k['limit_days']} 个工作日内办理（最迟 {k['due']}）" in body
        if k["days_over"]:
            assert f"已超过承诺时限 {k['days_over']} 个工作日" in body
