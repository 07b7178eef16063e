"""A member of the public, on a phone: searches in plain words, opens a policy, sees the 公示."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import shot


def test_search_then_policy_page_on_a_phone(site: dict[str, Any], phone: Any) -> None:
    phone.goto(site["base"] + "/")
    assert "政策找企业" in phone.content()
    phone.fill("input[name=q]", "稳岗")
    phone.click("button:has-text('搜索')")
    phone.wait_for_url("**/policies?q=*")
    phone.click("text=失业保险稳岗返还")
    phone.wait_for_url("**/policies/wengang-fanhuan")
    body = phone.inner_text("main")
    assert "享受条件" in body and "豫人社办〔2025〕35号" in body and "办事指南" in body
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"页面在手机宽度下横向溢出：{width}px"
    shot(phone, "01-policy-page-phone")


def test_publicity_and_lists_are_in_chinese(site: dict[str, Any], desktop: Any) -> None:
    desktop.goto(site["base"] + "/policies")
    assert desktop.locator("h1").inner_text() == "惠企政策清单"
    shot(desktop, "02-policy-list")
    desktop.goto(site["base"] + "/publicity")
    assert "拟兑现名单公示" in desktop.inner_text("main")
