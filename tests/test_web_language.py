"""Every role's pages, scanned for what should never reach people: code identifiers, field names,
Python literals, UTC or microsecond times (tests/language.py says what is allowed)."""

from __future__ import annotations

import pytest

from . import web_auth_fixtures as fx
from .language import leaks

world = fx.world

PAGES = {
    "hr": (
        "/console",
        "/console/cases",
        "/console/cases?state=all",
        "/console/cases/{case}",
        "/console/objections",
        "/console/requests",
        "/console/requests/ui_new_claimants_last_year",
        "/console/policies/wengang-fanhuan",
        "/console/policies/new",
        "/dashboard",
        "/console/ledger",
        "/console/performance?policy=wengang-fanhuan",
        "/console/scorecard",
        "/console/supervision",
        "/console/routes",
    ),
    "fin": ("/console", "/console/payments"),
    "aud": (
        "/audit",
        "/console/cases/{case}",
        "/dashboard",
        "/console/requests",
        "/console/ledger",
        "/console/performance?policy=wengang-fanhuan",
        "/console/scorecard",
        "/console/supervision",
        "/console/archives",
    ),
    "dm": ("/console", "/console/requests", "/dashboard", "/console/supervision"),
    "anon": (
        "/",
        "/policies",
        "/policies/wengang-fanhuan",
        "/policies/wengang-fanhuan/calculator?f_subject_type=企业",
        "/guides",
        "/publicity",
        "/overdue",
        "/login",
        "/verify",
        "/verify/ABCDEFGHJKMN",
    ),
    "ent": (
        "/my",
        "/my/cases/{case}",
        "/my/messages",
        "/my/corrections",
        "/my/policies/wengang-fanhuan",
        "/my/profile",
    ),
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_pages_show_no_code_identifiers(world: fx.World, role: str) -> None:
    client = world.client(world.uscc_a if role == "ent" else role)
    for path in PAGES[role]:
        page = client.get(path.format(case=world.case_a))
        assert page.status_code == 200, (path, page.status_code)
        assert not leaks(page.text), (path, leaks(page.text))


def test_the_scan_finds_what_it_looks_for() -> None:
    shown = "<p>派生：ui_new_claimants_last_year · profile.read · 2025-06-30T10:00:00+00:00 · None</p>"
    assert leaks(shown) == ["+00:00", "2025-06-30T10", "None", "profile.read", "ui_new_claimants_last_year"]
    assert leaks('<p>政策编号 <span class="code">wengang-fanhuan</span>，91410100MA40000000</p>') == []


def test_policy_list_filters_by_names_and_exports_what_it_shows(world: fx.World) -> None:
    import io
    import re

    from openpyxl import load_workbook

    public = world.client("anon")
    by_name = public.get("/policies?region=郑州").text
    count = re.search(r"共 (\d+) 项", by_name)
    assert count and count.group(0) in public.get("/policies?region=410100").text
    unknown = public.get("/policies?industry=不存在的行业").text
    assert "没有名为“不存在的行业”的行业" in unknown and "共 0 项" in unknown  # not silently ignored
    assert "共 0 项" not in public.get("/policies?industry=制造业").text
    page = public.get("/policies?kind=暂难数据化类").text
    shown = int(re.search(r"共 (\d+) 项", page).group(1))  # type: ignore[union-attr]
    assert shown >= 1 and "依申请（快申快享）" in page and "金额：" in page
    assert 'href="/export/policies.xlsx?kind=' in page  # the export carries the filter
    sheet = load_workbook(io.BytesIO(public.get("/export/policies.xlsx?kind=暂难数据化类").content)).active
    assert sheet is not None and sheet.max_row == 1 + shown
    assert "登录查看本企业能否享受" in public.get("/policies/wengang-fanhuan").text


def test_the_policy_calculator_explains_without_signing_in(world: fx.World) -> None:
    public = world.client("anon")
    blank = public.get("/policies/kuogang-buzhu/calculator").text
    assert "政策计算器" in blank and "试算结论" not in blank and "不知道" in blank
    wrong = public.get("/policies/kuogang-buzhu/calculator?f_subject_type=企业&f_qualified_youth_hires=三个").text
    assert (
        "不是数字" in wrong and 'value="三个"' in wrong and "试算结论" not in wrong
    )  # the answer stays, the error beside it
    fine = public.get("/policies/kuogang-buzhu/calculator?f_subject_type=企业&f_qualified_youth_hires=3").text
    assert "试算结论：符合" in fine and "4,500.00" in fine
    partial = public.get("/policies/kuogang-buzhu/calculator?f_qualified_youth_hires=3").text
    assert "试算结论：缺少信息，暂无法判断" in partial  # a blank answer is unknown, never "no"
    none_listed = public.get("/policies/gaoqi-rending-jiangli").text
    assert "政策计算器" not in none_listed  # 名单类: decided by the department's list
