"""The SMS link on a phone: open it, get the code, sign in, land on the case, confirm."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mianshen.audit.log import SYSTEM
from mianshen.cases import transitions as tr
from mianshen.integration.links import case_link
from mianshen.reference.workdays import add_working_days
from mianshen.store.schema import cases
from mianshen.web.accounts import set_contact
from tests.browser.conftest import AS_OF, latest_code, shot


def another_notified_case(site: dict[str, Any]) -> tuple[int, str]:
    """A second enterprise's 稳岗返还 case, notified (the benefit-flow test has the first)."""
    with site["engine"].begin() as conn:
        # matched, or notified already by the bulk tests (test_roles notifies thousands at both widths)
        case_id, uscc, state = conn.execute(
            select(cases.c.id, cases.c.uscc, cases.c.state)
            .where(
                cases.c.policy_id == "wengang-fanhuan",
                cases.c.state.in_(("matched", "notified")),
                cases.c.uscc != site["uscc"],
            )
            .order_by(cases.c.id)
            .limit(1)
        ).one()
        if state == "matched":
            days = tr.policy_settings(conn, "wengang-fanhuan").confirm_days
            tr.notify(conn, case_id, SYSTEM, add_working_days(AS_OF, days).date)
        set_contact(conn, uscc, "测试联系人", "13800138001")
    return case_id, uscc


def test_an_sms_link_on_a_phone_signs_in_and_confirms(site: dict[str, Any], phone: Any) -> None:
    case_id, uscc = another_notified_case(site)
    link = site["base"] + case_link(case_id, uscc)  # what the SMS carries after the platform's address
    phone.goto(link)
    first = phone.inner_text("main")
    assert "失业保险稳岗返还" in first and uscc[-4:] in first and uscc not in first  # the code is masked
    phone.click("button:has-text('获取验证码')")
    phone.wait_for_selector("input[name=code]")
    phone.fill("input[name=code]", latest_code(site["engine"], uscc))
    shot(phone, "20-sms-link-phone")
    phone.click("button:has-text('登录并查看')")
    phone.wait_for_url(f"**/my/cases/{case_id}")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the case page is {width}px wide on a 390px phone"
    phone.fill("input[name=bank_account]", "6222 0216 0400 7654 321")
    phone.fill("input[name=bank_name]", "中国工商银行郑州花园路支行")
    phone.fill("input[name=bank_code]", "102491002345")
    phone.check("input[name=commitment]")
    phone.click("button:has-text('确认并签署承诺')")
    phone.wait_for_load_state()
    with site["engine"].connect() as conn:
        assert conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar_one() == "confirmed"
    shot(phone, "21-sms-link-confirmed-phone")
