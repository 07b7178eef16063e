"""Every role's whole job at volume, in a real browser at desktop and phone widths, screenshots in
var/screenshots/: bulk notification of 3,000 cases with progress; a data department answering a
request and the enterprise's page changing; a correction tracked by its number; a change of money
approved by 会签; a payment returned, the account corrected and the payment issued again; the
auditor's chain; /docs. Every page visited is scanned for code identifiers (tests/language.py)."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from mianshen.audit.log import Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.store.schema import cases, data_needs, data_requests
from tests.browser.conftest import AS_OF, shot
from tests.browser.pages import check, enterprise, staff, visit

BANK = ("中国工商银行郑州花园路支行", "102491002345")


def waiting_cases(site: dict[str, Any], state: str, n: int) -> list[tuple[int, str]]:
    with site["engine"].connect() as conn:
        rows = conn.execute(
            select(cases.c.id, cases.c.uscc)
            .where(cases.c.policy_id == "wengang-fanhuan", cases.c.state == state, ~cases.c.period.startswith("copy"))
            .order_by(cases.c.id.desc())
            .limit(n)
        ).all()
    return [(int(r.id), str(r.uscc)) for r in rows]


def test_docs_render_the_openapi_document(site: dict[str, Any], desktop: Any) -> None:
    desktop.goto(site["base"] + "/docs")
    desktop.wait_for_selector(".opblock", timeout=30_000)
    body = desktop.inner_text("body")
    assert "/api/console/cases" in body and "Unable to render" not in body
    shot(desktop, "20-docs")


def test_finance_pays_a_returned_payment_again(site: dict[str, Any], browser: Any) -> None:
    hr = Actor("人社厅经办人", "department", site["department"])
    case_id, uscc = waiting_cases(site, "matched", 1)[0]
    start = AS_OF - dt.timedelta(days=40)
    with site["engine"].begin() as conn:
        case = tr.load_case(conn, case_id)
        tr.notify(conn, case_id, hr, AS_OF + dt.timedelta(days=20))
        who = Actor("经办人", "enterprise", None, uscc)
        tr.confirm(conn, case_id, who, Decimal(case["amount"]), "6222 0216 0400 1234 567", "承诺", *BANK)
        review.begin_review(conn, case_id, hr, start)
        review.open_publicity(conn, case_id, hr, start, stale_reason="测试")
        review.decide(conn, case_id, hr, AS_OF)
    finance = staff(browser, site, "finance")
    visit(finance, site["base"] + "/console/payments")
    finance.click("button:has-text('生成拨付批次')")
    finance.wait_for_load_state()
    finance.click("table a[href^='/console/payments/batches/']")
    finance.wait_for_selector("text=导入银行代发结果")
    check(finance)
    row = finance.locator("tr", has_text=f"#{case_id}")
    row.locator("summary:has-text('退票')").click()
    row.locator("input[name=reason]").fill("账户已销户")
    finance.once("dialog", lambda d: d.accept())
    row.locator("button:has-text('登记退票')").click()
    finance.wait_for_selector("text=退票记录")
    shot(finance, "21-finance-payment-returned")
    visit(staff(browser, site, "finance", "phone"), finance.url, "21-finance-payment-returned-phone")
    firm = enterprise(browser, site, uscc, f"/my/cases/{case_id}")
    assert "收款账户被银行退回" in firm.inner_text("main")
    firm.fill("#account input[name=bank_account]", "6222 0216 0400 9876 543")
    firm.fill("#account input[name=bank_name]", BANK[0])
    firm.fill("#account input[name=bank_code]", BANK[1])
    firm.click("button:has-text('更正收款账户')")
    firm.wait_for_load_state()
    assert "收款账户已更正" in firm.inner_text("main")
    shot(firm, "22-enterprise-account-corrected-phone")
    wide = enterprise(browser, site, uscc, f"/my/cases/{case_id}", width="desktop")
    check(wide)
    shot(wide, "22-enterprise-account-corrected-desktop")
    visit(finance, site["base"] + "/console/payments")
    finance.click("button:has-text('生成拨付批次')")
    finance.wait_for_load_state()
    finance.locator("table a[href^='/console/payments/batches/']").first.click()
    finance.wait_for_load_state()
    finance.locator("tr", has_text=f"#{case_id}").locator("button:has-text('已到账')").click()
    finance.wait_for_load_state()
    with site["engine"].connect() as conn:
        assert conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar_one() == "paid"
    shot(finance, "23-finance-paid-again")
    visit(staff(browser, site, "finance", "phone"), finance.url, "23-finance-paid-again-phone")
    auditor = staff(browser, site, "auditor")
    visit(auditor, site["base"] + "/audit")
    assert "哈希链校验通过" in auditor.inner_text("main")
    shot(auditor, "24-auditor-chain")


def test_a_data_department_answers_and_the_enterprise_sees_it(site: dict[str, Any], browser: Any) -> None:
    from mianshen.catalogue import load_catalogue
    from mianshen.profiles.sources import ColumnMap, DataSource, register_source

    engine = site["engine"]
    with engine.connect() as conn:
        field, policy = conn.execute(
            select(data_needs.c.field, data_needs.c.policy_id).order_by(data_needs.c.enterprises.desc()).limit(1)
        ).one()
        uscc = conn.execute(
            select(data_requests.c.uscc).where(data_requests.c.field == field, data_requests.c.resolved_at.is_(None))
        ).scalar()
    spec = load_catalogue().fields[field]
    with engine.begin() as conn:
        register_source(
            conn,
            DataSource(
                "answer",
                "补报数据",
                spec.source,
                "每月",
                400,
                1,
                (ColumnMap("统一社会信用代码", "uscc"), ColumnMap(spec.label, field)),
            ),
        )
    firm = enterprise(browser, site, uscc, f"/my/policies/{policy}")
    before = firm.inner_text("main")
    assert f"“{spec.label}”" in before  # the enterprise sees what is missing and who provides it
    manager = staff(browser, site, "datamgr")
    assert "进入数据需求" in manager.inner_text("main")
    visit(manager, site["base"] + "/console/requests")
    shot(manager, "25-data-inbox")
    manager.click(f"a[href='/console/requests/{field}']")
    manager.wait_for_load_state()
    check(manager)
    value = {"integer": "12", "money": "1000", "decimal": "1.5", "ratio": "0.5", "date": "2020-01-01"}.get(
        spec.type.value, "是" if spec.type.value == "boolean" else (spec.values[0] if spec.values else "1")
    )
    manager.select_option("select[name=source]", "answer")
    manager.set_input_files(
        "input[name=file]",
        files=[
            {
                "name": "补报.csv",
                "mimeType": "text/csv",
                "buffer": f"统一社会信用代码,{spec.label}\n{uscc},{value}\n".encode(),
            }
        ],
    )
    manager.click("button:has-text('导入并答复')")
    manager.wait_for_selector("text=接收 1 行")
    shot(manager, "26-data-answered")
    visit(staff(browser, site, "datamgr", "phone"), manager.url, "26-data-answered-phone")
    for _ in range(300):  # the re-match runs in the background
        with engine.connect() as conn:
            done = conn.execute(
                select(data_requests.c.resolved_at).where(data_requests.c.uscc == uscc, data_requests.c.field == field)
            ).scalar()
        if done is not None:
            break
        time.sleep(0.1)
    assert done is not None
    firm.reload()
    assert f"“{spec.label}” — 应由" not in firm.inner_text("main")
    shot(firm, "27-enterprise-after-answer-phone")
    wide = enterprise(browser, site, uscc, f"/my/policies/{policy}", width="desktop")
    assert f"“{spec.label}” — 应由" not in wide.inner_text("main")
    check(wide)
    shot(wide, "27-enterprise-after-answer-desktop")


def test_a_correction_is_tracked_by_its_number(site: dict[str, Any], browser: Any) -> None:
    firm = enterprise(browser, site, site["uscc"], "/my/policies/wengang-fanhuan")
    firm.select_option("select[name=field]", value="ui_new_claimants_last_year")  # held by 人社
    firm.fill("input[name=value]", "0")
    firm.fill("textarea[name=reason]", "上年度领取失业保险金人数有误，实为零人")
    firm.set_input_files(
        "input[name=attachment]", files=[{"name": "证明.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 x"}]
    )
    firm.click("button:has-text('提交更正申请')")
    firm.wait_for_url("**/my/corrections?done=*")
    number = re.search(r"GZ\d{12}", firm.inner_text("main"))
    assert number, firm.inner_text("main")
    check(firm)
    shot(firm, "28-enterprise-correction-number-phone")
    department = staff(browser, site, "hrss")
    visit(department, site["base"] + "/console/requests")
    row = department.locator("tr", has_text=number.group(0))
    row.locator("input[name=reply]").fill("经核对失业保险系统，上年度确有 2 人领取")
    department.once("dialog", lambda d: d.accept())
    row.locator("button:has-text('不予更正')").click()
    department.wait_for_load_state()
    visit(staff(browser, site, "hrss", "phone"), site["base"] + "/console/requests", "28-correction-inbox-phone")
    firm.goto(site["base"] + "/my/corrections")
    assert "不予更正" in firm.inner_text("main") and number.group(0) in firm.inner_text("main")
    check(firm)
    wide = enterprise(browser, site, site["uscc"], "/my/corrections", width="desktop")
    assert number.group(0) in wide.inner_text("main")
    check(wide)
    shot(wide, "28-enterprise-correction-answered-desktop")


def test_a_change_of_money_is_approved_by_cosign(site: dict[str, Any], browser: Any) -> None:
    author = staff(browser, site, "hrss")
    visit(author, site["base"] + "/console/policies/new?from=wengang-fanhuan")
    source = author.input_value("textarea[name=source]")
    bumped = re.sub(r"^version: (\d+)", lambda m: f"version: {int(m.group(1)) + 1}", source, count=1, flags=re.M)
    bumped = bumped.replace("confirm_days:", "budget: 90000000\nconfirm_days:", 1)
    author.fill("textarea[name=source]", bumped)
    author.click("button:has-text('发布')")
    author.wait_for_selector("#pending", timeout=60_000)
    shot(author, "29-author-sent-to-cosign")
    second = staff(browser, site, "hrss2")
    visit(second, site["base"] + "/console/approvals")
    assert "会签通过并发布" in second.inner_text("main")
    shot(second, "30-cosign-with-simulation")
    visit(staff(browser, site, "hrss2", "phone"), second.url, "30-cosign-with-simulation-phone")
    second.once("dialog", lambda d: d.accept())
    second.click("button:has-text('会签通过并发布')")
    second.wait_for_selector("text=已会签并发布")


def _matched_copies(site: dict[str, Any], prefix: str, wanted: int = 3000) -> None:
    """Matched 稳岗返还 cases (copies of the store's, periods `prefix-k`) until `wanted` wait to be notified."""
    with site["engine"].begin() as conn:
        seeds = [dict(r) for r in conn.execute(select(cases).where(cases.c.policy_id == "wengang-fanhuan")).mappings()]
        have = conn.execute(
            select(func.count()).where(cases.c.policy_id == "wengang-fanhuan", cases.c.state == "matched")
        ).scalar_one()
        copies = []
        for k in range(max(0, wanted - have)):
            row = dict(seeds[k % len(seeds)])
            row.pop("id")
            copies.append(row | {"period": f"{prefix}-{k}", "state": "matched", "deadline": None, "region": None})
        conn.execute(cases.insert(), copies)


def _notify_all(site: dict[str, Any], page: Any, width: str) -> None:
    """From the filtered queue: 批量通知企业 → preview with the SMS → confirm → progress → result,
    every step checked (on a phone: fits the width, numbers whole) and photographed."""
    visit(page, site["base"] + "/console/cases?state=matched&policy=稳岗")
    assert "共 <strong>3,0" in page.content()
    shot(page, f"31-queue-3000-{width}")
    page.click("a:has-text('批量通知企业')")
    page.wait_for_load_state()
    check(page)
    assert "【免申即享】" in page.inner_text("main")
    shot(page, f"33-bulk-preview-{width}")
    # the job page loads while the job runs in the test's own process: slow on a busy machine
    page.click("button:has-text('确认批量通知企业')", timeout=300_000)
    page.wait_for_selector("text=已完成", timeout=300_000)  # about 10 s on an idle machine, 70 s on a busy one
    check(page)
    shot(page, f"35-bulk-done-{width}")
    _progress_midway(site, page, width)
    with site["engine"].connect() as conn:
        left = conn.execute(
            select(func.count()).where(cases.c.policy_id == "wengang-fanhuan", cases.c.state == "matched")
        ).scalar_one()
    assert left == 0


def _progress_midway(site: dict[str, Any], page: Any, width: str) -> None:
    """The progress page of a job 1,234 cases into 3,000 (a job row as a server working it leaves
    it, its heartbeat fresh so nobody takes it over; removed after): the bar spans the width and the
    counts read whole. The real job before it finishes too fast to be photographed mid-way."""
    from mianshen.clock import now, real_now
    from mianshen.store.schema import bulk_jobs

    values = {"action": "notify", "policy_id": "wengang-fanhuan", "actor": "人社厅经办人", "total": 3000}
    values |= {"department": site["department"], "state": "running", "done": 1234, "failed": 0}
    values |= {"report": '{"last_id": 0, "failures": []}', "created_at": now(), "heartbeat_at": real_now()}
    with site["engine"].begin() as conn:
        job = int(conn.execute(bulk_jobs.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    try:
        visit(page, site["base"] + f"/console/bulk/{job}")
        assert page.inner_text("#job-state") == "办理中"
        bar = page.locator("#job-bar").bounding_box()
        view = page.viewport_size["width"]
        assert bar is not None and bar["x"] >= 0 and bar["x"] + bar["width"] <= view and bar["width"] >= view / 2
        assert page.evaluate("document.getElementById('job-bar').value") == 1234
        counts = page.locator("#job-count").locator("..")
        assert re.search(r"1,234 / 3,0\d\d 件", counts.inner_text()), counts.inner_text()
        assert float(counts.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 14  # readable
        shot(page, f"34-bulk-progress-{width}")
    finally:
        with site["engine"].begin() as conn:
            conn.execute(bulk_jobs.delete().where(bulk_jobs.c.id == job))


def test_department_notifies_three_thousand_cases_with_progress(site: dict[str, Any], browser: Any) -> None:
    """The whole bulk job at each width, each on its own 3,000 cases (the desktop's are notified
    before the phone's are made)."""
    _matched_copies(site, "copy")
    _notify_all(site, staff(browser, site, "hrss"), "desktop")
    _matched_copies(site, "copy-phone")
    narrow = staff(browser, site, "hrss", "phone")
    _notify_all(site, narrow, "phone")
    visit(narrow, site["base"] + "/console/bulk/new", "36-bulk-choose-phone")
