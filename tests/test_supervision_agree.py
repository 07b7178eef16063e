"""One definition of 逾期: the dashboard (监督问效), the review queue's filter and tag, the overdue
ledger, the public /overdue page and the enterprise's own case all count the same cases on the same
store — including a confirmed case whose old confirmation deadline has long passed but whose review
is still within its commitment (the dashboard used to count that one from the case's deadline column)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import Engine, select, update

from mianshen.store.schema import cases

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_supervision_ledger import TODAY, from_store, moment, pinned, staged, stages_of
from .test_web_console_fixtures import POLICY, case_ids, login

demo, populated, site, web_env, pinned = fx.demo, fx.populated, wf.site, wf.web_env, pinned


def test_dashboard_queue_ledger_and_public_page_agree(site: Engine, pinned: None) -> None:
    ids = staged(site)
    fresh = case_ids(site)[7]  # confirmed two days ago, its confirmation deadline long past: not overdue
    with site.begin() as conn:
        conn.execute(
            update(cases)
            .where(cases.c.id == fresh)
            .values(
                state="confirmed", deadline=dt.date(2025, 9, 1), commitment_signed_at=moment(TODAY - dt.timedelta(2))
            )
        )
    expected = from_store(site)
    assert expected == Counter(notify=1, confirm=1, review=1, approve=1, pay=1)
    hr = login(site, "hr")

    dashboard = hr.get("/api/dashboard").json()
    mine = next(p for p in dashboard["policies"] if p["policy_id"] == POLICY)
    assert mine["overdue"] == sum(expected.values()) == dashboard["overdue_total"]
    assert {s["stage"]: s["overdue"] for s in dashboard["stages"] if s["overdue"]} == dict(expected)
    page = hr.get("/dashboard").text
    assert f"超过承诺时限的案件共 <strong>{sum(expected.values())}</strong> 件" in page
    assert f'data-stage="notify"><span class="tag">{expected["notify"]}</span>' in page

    assert stages_of(hr.get("/api/console/ledger").json()) == expected
    public = login(site, None).get("/api/overdue").json()
    assert stages_of(public) == expected

    queue = hr.get(f"/api/console/cases?state=all&overdue=1&policy={POLICY}&size=200").json()
    flagged = {c["id"] for c in queue["cases"]}
    overdue_ids = {ids[k] for k in ("notify_late", "confirm_late", "review_late", "approve_late", "pay_late")}
    assert queue["total"] == sum(expected.values()) and flagged == overdue_ids
    everything = hr.get(f"/api/console/cases?state=all&policy={POLICY}&size=200").json()["cases"]
    assert {c["id"] for c in everything if c["overdue"]} == overdue_ids and fresh not in flagged
    assert hr.get(f"/api/console/cases/{ids['review_late']}").json()["case"]["overdue"] is True
    with site.connect() as conn:
        assert conn.execute(select(cases.c.state).where(cases.c.id == fresh)).scalar() == "confirmed"
