"""政策绩效评价: the page, the API, the XLSX and the CLI give the numbers counted case by case from
the store (funnel, take-up, money, 兑现时长 in working days, objections, regions, periods)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select, update

from mianshen.audit.log import Actor
from mianshen.cases.objections import object_to, resolve
from mianshen.cases.review import begin_review, open_publicity
from mianshen.cases.transitions import reject
from mianshen.cli.main import cli
from mianshen.reference.workdays import working_days_between
from mianshen.store.schema import case_events, cases, match_policies, objections, payments
from mianshen.supervision.report import weighted_median, weighted_p90
from mianshen.web.console.metrics import median, p90

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import HR, POLICY, case_ids, confirm, login, paid_in_known_spans

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env


def built(engine: Engine) -> list[int]:
    """Three paid (known working-day spans), one rejected after an objection-free review, the rest matched."""
    ids = case_ids(engine)
    paid = ids[:3]
    paid_in_known_spans(engine, paid)
    confirm(engine, ids[3])
    with engine.begin() as conn:
        begin_review(conn, ids[3], HR, dt.date(2025, 9, 1))
        reject(conn, ids[3], HR, "经核实不符合条件")
    return ids


def expected(engine: Engine, period: str | None = None, region: str = "") -> dict[str, Any]:
    """Case by case from the store (the report must say the same, set-based)."""
    with engine.connect() as conn:
        rows = [
            r
            for r in conn.execute(select(cases).where(cases.c.policy_id == POLICY)).mappings()
            if (period is None or r["period"] == period) and (r["region"] or "").startswith(region)
        ]
        ids = {r["id"] for r in rows}
        reached: Counter[str] = Counter()
        for state in ("notified", "confirmed", "approved", "paid", "rejected", "clawback"):
            got = conn.execute(select(case_events.c.case_id).where(case_events.c.to_state == state)).scalars()
            reached[state] = len(set(got) & ids)
        paid = [p for p in conn.execute(select(payments).where(payments.c.paid_at.is_not(None))) if p.case_id in ids]
        days = []
        for r in rows:
            at = conn.execute(
                select(func.min(case_events.c.at)).where(
                    case_events.c.case_id == r["id"], case_events.c.to_state == "paid"
                )
            ).scalar()
            if at is not None:
                made = (
                    r["created_at"]
                    if isinstance(r["created_at"], dt.datetime)
                    else dt.datetime.fromisoformat(r["created_at"])
                )
                days.append(working_days_between(wf_day(made), wf_day(at)).days)
        eligible = conn.execute(
            select(match_policies.c.eligible)
            .where(match_policies.c.policy_id == POLICY)
            .order_by(match_policies.c.run_id.desc())
        ).scalar()
        raised = len([o for o in conn.execute(select(objections.c.case_id)).scalars() if o in ids])
    return {
        "counts": {"eligible": eligible, "opened": len(rows), **reached},
        "paid_amount": sum((Decimal(p.amount) for p in paid), Decimal(0)),
        "median_days": median(days),
        "p90_days": p90(days),
        "objections": raised,
    }


def wf_day(moment: dt.datetime) -> dt.date:
    from mianshen.clock import beijing

    return beijing(moment).date()


def test_weighted_percentiles_agree_with_the_dashboards() -> None:
    for values in ([4, 9, 2], [1, 2, 3, 4], list(range(1, 12)), [5, 5, 5, 1]):
        counts = dict(Counter(values))
        assert weighted_median(counts) == median(values) and weighted_p90(counts) == p90(values)
    assert weighted_median({}) is None and weighted_p90({}) is None


def check(body: dict[str, Any], want: dict[str, Any]) -> None:
    assert {k: body["counts"][k] for k in want["counts"]} == want["counts"]
    assert Decimal(body["paid_amount"]) == want["paid_amount"]
    assert body["median_days"] == want["median_days"] and body["p90_days"] == want["p90_days"]
    assert sum(o["count"] for o in body["objections"]) == want["objections"]


def test_report_api_page_xlsx_and_cli_equal_the_store(site: Engine) -> None:
    built(site)
    want = expected(site)
    assert want["counts"]["paid"] == 3 and want["counts"]["rejected"] == 1 and want["median_days"] == 4
    assert want["p90_days"] == 9
    hr = login(site, "hr")
    body = hr.get(f"/api/console/performance?policy={POLICY}").json()
    check(body, want)
    assert body["take_up"] == pytest.approx(3 / want["counts"]["eligible"])
    page = hr.get(f"/console/performance?policy={POLICY}").text
    assert "政策绩效评价" in page and '<th scope="row">已拨付</th><td data-label="已拨付" class="num">3</td>' in page
    assert (
        '兑现时长中位数（工作日，立案至到账）</th><td data-label="兑现时长中位数（工作日，立案至到账）" class="num">4</td>'
        in page
    )
    sheet = load_workbook(io.BytesIO(hr.get(f"/console/performance/export.xlsx?policy={POLICY}").content)).active
    assert sheet is not None
    cells = {r[0]: r[1] for r in sheet.iter_rows(values_only=True) if r and r[0]}
    assert cells["已拨付"] == "3" and cells["不予通过"] == "1" and cells["兑现时长 P90（工作日）"] == "9"
    result = CliRunner().invoke(cli, ["supervise", "report", "--policy", POLICY, "--json", "--db", str(site.url)])
    assert result.exit_code == 0, result.output
    check(json.loads(result.output), want)
    text = CliRunner().invoke(cli, ["supervise", "report", "--policy", POLICY, "--db", str(site.url)]).output
    assert "已拨付：3" in text and "享受率" in text


def test_period_region_and_reach(site: Engine) -> None:
    built(site)
    with site.begin() as conn:
        row = dict(conn.execute(select(cases).where(cases.c.policy_id == POLICY)).mappings().first() or {})
        row.pop("id")
        conn.execute(cases.insert(), [row | {"period": "2024", "state": "matched"}])
    with site.connect() as conn:
        period = conn.execute(select(cases.c.period).where(cases.c.period != "2024").limit(1)).scalar_one()
    hr = login(site, "hr")
    for chosen in (period, "2024"):
        body = hr.get(f"/api/console/performance?policy={POLICY}&period={chosen}").json()
        assert body["counts"]["opened"] == expected(site, chosen)["counts"]["opened"] and "2024" in body["periods"]
    first = case_ids(site)[0]
    with site.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == first).values(region="410102"))
    zz = login(site, "zz").get(f"/api/console/performance?policy={POLICY}").json()
    assert zz["counts"]["opened"] == expected(site, region="4101")["counts"]["opened"] == 1
    assert [r["region_name"] for r in zz["regions"]] == ["河南省郑州市"]
    assert login(site, "kj").get(f"/api/console/performance?policy={POLICY}").status_code == 404
    assert login(site, "fin").get("/console/performance").status_code == 403
    assert login(site, "aud").get(f"/console/performance?policy={POLICY}").status_code == 200
    assert login(site, "hr").get("/console/performance").status_code == 200  # no policy chosen: the choice


def test_objections_by_outcome(site: Engine) -> None:
    ids = built(site)
    ent = Actor("经办人", "enterprise", None)
    for case_id in ids[4:6]:
        confirm(site, case_id)
        with site.begin() as conn:
            begin_review(conn, case_id, HR, dt.date(2025, 9, 1))
            open_publicity(conn, case_id, HR, dt.date(2025, 9, 1), stale_reason="测试")
            uscc = conn.execute(select(cases.c.uscc).where(cases.c.id == case_id)).scalar_one()
            object_to(conn, case_id, Actor(ent.name, "enterprise", None, uscc), "本企业数据有误，请核实")
    with site.begin() as conn:
        resolve(conn, ids[4], HR, True, "核实成立")
    body = login(site, "hr").get(f"/api/console/performance?policy={POLICY}").json()
    assert {o["label"]: o["count"] for o in body["objections"]} == {"异议成立": 1, "异议不成立": 0, "待处理": 1}
    assert body["counts"]["rejected"] == expected(site)["counts"]["rejected"] == 2
