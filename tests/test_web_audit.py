"""Auditor view: the audit log with filters and the hash chain's status (a tampered row is named)."""

from __future__ import annotations

from sqlalchemy import Engine, select, text

from mianshen.store.schema import audit_log
from tests.language import leaks

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import enterprise_client, login

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env


def test_auditor_reads_the_log_and_the_chain_status(site: Engine) -> None:
    aud = login(site, "aud")
    page = aud.get("/audit")
    assert page.status_code == 200 and "哈希链校验通过" in page.text
    body = aud.get("/api/audit?action=policy.publish").json()
    assert body["chain"]["ok"] is True and body["total"] == 2
    assert {r["action"] for r in body["rows"]} == {"policy.publish"}
    assert aud.get("/api/audit?entity_type=user&action=user.add").json()["total"] == len(wf.USERS)
    assert aud.get("/api/audit?from=2000-01-01&to=2000-01-02").json()["total"] == 0
    assert aud.get("/api/audit?from=yesterday").status_code == 400


def test_tampering_one_row_is_shown_with_its_id(site: Engine) -> None:
    with site.connect() as conn:
        ids = conn.execute(select(audit_log.c.id).order_by(audit_log.c.id)).scalars().all()
    victim = ids[len(ids) // 2]
    with site.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = '改过的人' WHERE id = :id"), {"id": victim})
    aud = login(site, "aud")
    chain = aud.get("/api/audit/verify").json()
    assert chain["ok"] is False and chain["first_broken"] == victim
    page = aud.get("/audit?entity_id=&offset=0")
    assert "哈希链校验未通过" in page.text and f'<strong id="broken-row">{victim}</strong>' in page.text


def test_only_auditors_and_admins_reach_the_log(site: Engine) -> None:
    assert login(site, "admin").get("/audit").status_code == 200
    for url in ("/audit", "/api/audit", "/api/audit/verify"):
        signed_out = login(site, None).get(url)
        assert signed_out.status_code == (401 if url.startswith("/api/") else 303)  # a page sends to sign-in
        for who in ("hr", "fin"):
            assert login(site, who).get(url).status_code == 403
        assert enterprise_client(site, "91410102000000001X").get(url).status_code == 403


def test_a_bad_page_address_is_explained_in_chinese(site: Engine) -> None:
    """A mistyped start position or date in the audit log's address: the page says what is wrong in
    Chinese, naming neither the query parameter nor a format pattern."""
    aud = login(site, "aud")
    for address, said in (
        ("/audit?offset=第二页", "起始位置（从第几条记录起显示）应为非负整数，实际为“第二页”"),
        ("/audit?from=2025/06/30", "起始日期：“2025/06/30”不是有效日期（应写成 2025-06-30 这样的格式"),
    ):
        page = aud.get(address)
        assert page.status_code == 400 and said in page.text, page.text
        assert not leaks(page.text) and "offset" not in page.text and "YYYY" not in page.text
