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
    ),
    "fin": ("/console", "/console/payments"),
    "aud": ("/audit", "/console/cases/{case}", "/dashboard", "/console/requests"),
    "dm": ("/console", "/console/requests"),
    "anon": ("/", "/policies", "/policies/wengang-fanhuan", "/guides", "/publicity", "/login"),
    "ent": ("/my", "/my/cases/{case}", "/my/messages", "/my/corrections", "/my/policies/wengang-fanhuan"),
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
