"""逾期台账: every case past its stage's committed limit, counted the same on the pages, the API and
the CLI as case by case from the store; a department sees its own (region-scoped), the public sees
totals without enterprises, the enterprise sees its case's commitment and delay."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, update

from mianshen.cli.main import cli
from mianshen.clock import BEIJING
from mianshen.store.schema import case_events, cases, enterprises
from mianshen.supervision import commitments as cm
from mianshen.supervision import ledger

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import POLICY, case_ids, enterprise_client, login

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env
TODAY = dt.date(2025, 10, 31)  # a Friday; 2025-10-01…08 are the 国庆/中秋 holidays, 10-11 a make-up Saturday


def moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), BEIJING).astimezone(dt.UTC)


def staged(engine: Engine) -> dict[str, int]:
    """Cases of the policy put at known stages and anchors (the rest stay matched today)."""
    with engine.begin() as conn:  # three more matched today, within every limit
        row = dict(conn.execute(select(cases).where(cases.c.policy_id == POLICY)).mappings().first() or {})
        row.pop("id")
        conn.execute(cases.insert(), [row | {"period": f"copy-{k}", "updated_at": moment(TODAY)} for k in range(3)])
    ids = case_ids(engine)
    assert len(ids) >= 10
    plan: dict[str, tuple[int, dict[str, Any]]] = {
        "just_in_time": (ids[0], {"updated_at": moment(dt.date(2025, 10, 24))}),  # 5 working days: not over
        "notify_late": (ids[1], {"updated_at": moment(dt.date(2025, 10, 23)), "region": "410102"}),  # 6: one over
        "confirm_late": (ids[2], {"state": "notified", "deadline": dt.date(2025, 10, 1), "region": "410102"}),
        "review_late": (ids[3], {"state": "under_review", "commitment_signed_at": moment(dt.date(2025, 9, 1))}),
        "approve_late": (ids[4], {"state": "publicity", "publicity_to": dt.date(2025, 10, 20)}),
        "pay_late": (ids[5], {"state": "approved", "updated_at": moment(dt.date(2025, 10, 30))}),
        "paid": (ids[6], {"state": "paid", "updated_at": moment(dt.date(2025, 1, 2))}),
    }
    with engine.begin() as conn:
        for case_id, values in plan.values():
            conn.execute(update(cases).where(cases.c.id == case_id).values(**values))
        conn.execute(  # approved long ago: the pay stage runs from the approval, not the last change
            case_events.insert().values(
                case_id=plan["pay_late"][0],
                from_state="publicity",
                to_state="approved",
                actor="王科长",
                role="department",
                at=moment(dt.date(2025, 9, 15)),
            )
        )
    return {k: v[0] for k, v in plan.items()}


def from_store(engine: Engine, policy_id: str = POLICY, region: str = "") -> Counter[str]:
    """Overdue cases per stage, case by case (the ledger must say the same, set-based)."""
    out: Counter[str] = Counter()
    with engine.connect() as conn:
        rows = conn.execute(select(cases).where(cases.c.policy_id == policy_id)).mappings().all()
        for r in rows:
            if not (r["region"] or "").startswith(region):
                continue
            found = cm.case_commitment(conn, dict(r), TODAY)
            if found and found["days_over"] > 0:
                out[found["stage"]] += 1
    return out


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_TODAY", TODAY.isoformat())


def stages_of(body: dict[str, Any], policy_id: str = POLICY) -> Counter[str]:
    out: Counter[str] = Counter()
    for r in body["rows"]:
        if r["policy_id"] == policy_id:
            out[r["stage"]] += r["cases"]
    return out


def test_days_over_are_working_days_past_the_limit(site: Engine, pinned: None) -> None:
    ids = staged(site)
    with site.connect() as conn:

        def over(key: str) -> int:
            case = dict(conn.execute(select(cases).where(cases.c.id == ids[key])).mappings().one())
            return cm.case_commitment(conn, case, TODAY)["days_over"]  # type: ignore[index]

        assert over("just_in_time") == 0 and over("notify_late") == 1
        assert over("confirm_late") == 18  # 10-09, 10-10, 10-11 (调休) and three full weeks
        assert over("approve_late") == 4  # 公示 ended 10-20; 5 days to 10-27; 10-28…31 over
        assert over("pay_late") == 30 - 10  # approved 09-15: 30 working days to 10-31, 10 committed
        assert over("review_late") == 40 - 10  # confirmed 09-01: 40 working days, 10 committed
        case = dict(conn.execute(select(cases).where(cases.c.id == ids["paid"])).mappings().one())
        assert cm.case_commitment(conn, case, TODAY) is None


def test_ledger_api_page_and_cli_equal_the_store(site: Engine, pinned: None) -> None:
    ids = staged(site)
    expected = from_store(site)
    assert expected == Counter(notify=1, confirm=1, review=1, approve=1, pay=1)
    admin = login(site, "admin").get("/api/console/ledger").json()
    assert stages_of(admin) == expected and admin["as_of"] == TODAY.isoformat()
    assert admin["total"] == sum(expected.values())
    page = login(site, "admin").get("/console/ledger").text
    assert f"逾期案件共 <strong>{sum(expected.values())}</strong> 件" in page
    for stage, n in expected.items():
        assert re.search(rf'data-stage="{stage}">{n}<', page)
    oldest = [(c["id"], c["days_over"]) for c in admin["oldest"]]
    assert oldest == [(ids["review_late"], 30), (ids["pay_late"], 20), (ids["confirm_late"], 18)] + [
        (ids["approve_late"], 4),
        (ids["notify_late"], 1),
    ]
    assert f'<a href="/console/cases/{ids["review_late"]}">' in page
    result = CliRunner().invoke(cli, ["supervise", "ledger", "--policy", POLICY, "--json", "--db", str(site.url)])
    assert result.exit_code == 0, result.output
    assert stages_of(json.loads(result.output)) == expected
    text = CliRunner().invoke(cli, ["supervise", "ledger", "--db", str(site.url)])
    assert "匹配后通知企业：1 件" in text.output and "逾期" in text.output
    with site.connect() as conn:
        period = conn.execute(select(cases.c.period).where(cases.c.id == ids["review_late"])).scalar_one()
    for chosen, want in ((period, expected), ("copy-0", Counter())):  # the copies were matched today
        args = ["supervise", "ledger", "--period", chosen, "--json", "--db", str(site.url)]
        assert stages_of(json.loads(CliRunner().invoke(cli, args).output)) == want


def test_department_region_auditor_and_public_views(site: Engine, pinned: None) -> None:
    staged(site)
    assert stages_of(login(site, "hr").get("/api/console/ledger").json()) == from_store(site)
    assert stages_of(login(site, "aud").get("/api/console/ledger").json()) == from_store(site)
    assert login(site, "kj").get("/api/console/ledger").json()["rows"] == []  # another department's cases: none
    zz = login(site, "zz").get("/api/console/ledger").json()
    assert stages_of(zz) == from_store(site, region="4101") == Counter(notify=1, confirm=1)  # 郑州 only
    assert all(r["region"].startswith("4101") for r in zz["rows"])
    for name in ("fin",):
        assert login(site, name).get("/console/ledger").status_code == 403
    assert login(site, None).get("/console/ledger").status_code == 303
    public = login(site, None)
    body = public.get("/api/overdue").json()
    assert stages_of(body) == from_store(site) and all("region" not in r for r in body["rows"])
    page = public.get("/overdue")
    assert page.status_code == 200 and "政策兑现逾期情况" in page.text
    assert f"逾期案件共 <strong>{sum(from_store(site).values())}</strong> 件" in page.text
    assert "ledger-oldest" not in page.text  # no list of cases for the public
    with site.connect() as conn:
        names = [n for n in conn.execute(select(enterprises.c.name)).scalars() if n]
    assert names and not any(n in page.text for n in names)


def test_the_enterprise_sees_its_commitment_and_delay(site: Engine, pinned: None) -> None:
    ids = staged(site)
    with site.connect() as conn:
        uscc = conn.execute(select(cases.c.uscc).where(cases.c.id == ids["confirm_late"])).scalar_one()
    page = enterprise_client(site, uscc).get(f"/my/cases/{ids['confirm_late']}").text
    assert "企业确认" in page and "已超过承诺时限 18 个工作日" in page
    listed = enterprise_client(site, uscc).get("/my").text
    assert "企业确认：承诺 2025-10-01 前办理" in listed and "已超过承诺时限 18 个工作日" in listed


def test_the_ledger_query_reads_an_index(site: Engine, pinned: None) -> None:
    """Each stage's grouped query searches an index (a range of the overdue cases), never scans
    and sorts the whole case table."""
    if site.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    with site.connect() as conn:
        limits = ledger.limits_in_play(conn, ledger.policies(conn, {POLICY}))
        for stage in cm.STAGES:
            query = ledger.stage_query(conn, stage, TODAY, limits, [cases.c.policy_id.in_([POLICY])])
            sql = str(query.compile(site, compile_kwargs={"literal_binds": True}))
            plan = [str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
            assert any(p.startswith("SEARCH cases USING") for p in plan), (stage.key, plan)
            assert not any(p.startswith("SCAN cases") for p in plan), (stage.key, plan)
            if stage.key == "notify":  # the biggest backlog: a range of the stage index, not every matched case
                assert any("ix_cases_stage (state=? AND updated_at<?)" in p for p in plan), plan


def test_the_one_walk_counter_agrees_with_the_calendar() -> None:
    from mianshen.reference.workdays import working_days_between

    days = [dt.date(2025, 9, 20) + dt.timedelta(days=k) for k in range(0, 40, 3)]  # across 国庆 and 调休
    between = cm.counter(days)
    for a in days:
        for b in days:
            assert between(a, b) == working_days_between(a, b).days
