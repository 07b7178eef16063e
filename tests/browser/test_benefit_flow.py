"""The whole benefit in a real browser: the enterprise signs in by SMS code, sees its benefit with
reasons and confirms; staff review and announce it; after 公示 it is approved; finance pays; the
enterprise sees "已拨付". Screenshots of the key pages go to var/screenshots/."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from mianshen.settings import configure
from mianshen.store.schema import cases
from tests.browser.conftest import AS_OF, PASSWORD, latest_code, shot


def sign_in_enterprise(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["base"] + "/login")
    page.fill("input[name=uscc]", site["uscc"])
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector("input[name=code]")
    assert "验证码已发送至该手机" in page.inner_text("main")  # the same answer for every USCC
    page.fill("input[name=code]", latest_code(site["engine"], site["uscc"]))
    page.click("button:has-text('登录')")
    page.wait_for_url("**/my")


def sign_in_staff(page: Any, site: dict[str, Any], username: str) -> None:
    page.goto(site["base"] + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url("**/console")


def state(site: dict[str, Any]) -> str:
    with site["engine"].connect() as conn:
        return str(conn.execute(select(cases.c.state).where(cases.c.id == site["case_id"])).scalar_one())


def test_from_sms_sign_in_to_paid(site: dict[str, Any], browser: Any) -> None:
    firm = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    sign_in_enterprise(firm, site)
    mine = firm.inner_text("main")
    assert "我的待遇" in mine and "失业保险稳岗返还（2025年）" in mine
    shot(firm, "03-enterprise-my-benefits-phone")
    firm.goto(site["base"] + "/my/policies/wengang-fanhuan")
    reasons = firm.inner_text("main")
    assert "上年度足额缴纳失业保险费月数" in reasons and "符合" in reasons
    shot(firm, "04-enterprise-reasons")
    firm.goto(site["base"] + f"/my/cases/{site['case_id']}")
    firm.fill("input[name=bank_account]", "6222 0216 0400 1234 567")
    firm.fill("input[name=bank_name]", "中国工商银行郑州花园路支行")
    firm.fill("input[name=bank_code]", "102491002345")
    firm.check("input[name=commitment]")
    firm.click("button:has-text('确认并签署承诺')")
    firm.wait_for_load_state()
    assert state(site) == "confirmed"
    assert "6222 **** **** 4567" in firm.content() or "企业已确认" in firm.content()
    shot(firm, "05-enterprise-confirmed")

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    staff.on("dialog", lambda dialog: dialog.accept())  # irreversible steps ask to confirm
    sign_in_staff(staff, site, "hrss")
    staff.goto(site["base"] + f"/console/cases/{site['case_id']}")
    staff.click("button:has-text('开始审核')")
    staff.wait_for_selector("button:has-text('进入公示')")
    assert state(site) == "under_review"
    shot(staff, "06-staff-review-evidence")
    if staff.locator("input[name=stale_reason]").count():
        staff.fill("input[name=stale_reason]", "已电话核实最新参保情况")
    staff.click("button:has-text('进入公示')")
    staff.wait_for_selector("button:has-text('不予通过')")
    assert state(site) == "publicity"
    assert staff.locator("button:has-text('批准')").count() == 0  # not offered while 公示 runs
    with site["engine"].connect() as conn:
        ends = conn.execute(select(cases.c.publicity_to).where(cases.c.id == site["case_id"])).scalar_one()
    configure(today=ends + dt.timedelta(days=1))  # the 公示 period has passed
    try:
        staff.reload()
        staff.click("button:has-text('批准')")
        staff.wait_for_load_state()
        assert state(site) == "approved"
        shot(staff, "07-staff-approved")
        finance = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
        sign_in_staff(finance, site, "finance")
        finance.goto(site["base"] + "/console/payments")
        finance.click("button:has-text('生成拨付批次')")
        finance.wait_for_selector("button:has-text('登记已拨付')")
        assert state(site) == "in_payment"
        finance.click("button:has-text('登记已拨付')")
        finance.wait_for_load_state()
        assert state(site) == "paid"
        shot(finance, "08-finance-paid")
    finally:
        configure(today=AS_OF)
    firm.goto(site["base"] + f"/my/cases/{site['case_id']}")
    assert "已拨付" in firm.inner_text("main")
    shot(firm, "09-enterprise-sees-paid")
