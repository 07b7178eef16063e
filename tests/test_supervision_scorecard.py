"""Scorecards (评分表) for departments and regions: every number equals a count made case by case and
request by request from the store; rows are in the order the stated rule gives; the page states the
rule; the XLSX and `mianshen supervise scorecard --json` say the same."""

from __future__ import annotations

import datetime as dt
import io
import json
import statistics
from collections import defaultdict
from typing import Any

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from mianshen.cli.main import cli
from mianshen.matching.read import pairs
from mianshen.profiles import inbox
from mianshen.reference.regions import find_region
from mianshen.reference.workdays import add_working_days, working_days_between
from mianshen.store.schema import case_events, cases, data_requests, supervision_items
from mianshen.supervision import commitments as cm

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_supervision_ledger import TODAY, moment, pinned, staged
from .test_web_console_fixtures import HRSS, POLICY, login

demo, populated, site, web_env, pinned = fx.demo, fx.populated, wf.site, wf.web_env, pinned
FIELD = "insured_as_unit"  # held by 人力资源和社会保障厅


def seeded(engine: Engine) -> None:
    """Known cases (the ledger test's stages), two data requests with known answers, a late 督办 item."""
    staged(engine)
    with engine.begin() as conn:
        taken = set(conn.execute(select(data_requests.c.uscc).where(data_requests.c.field == FIELD)).scalars())
        usccs = [u for u in conn.execute(select(cases.c.uscc).order_by(cases.c.id)).scalars() if u not in taken]
        conn.execute(
            data_requests.insert(),
            [
                {
                    "uscc": usccs[0],
                    "field": FIELD,
                    "opened_at": moment(dt.date(2025, 10, 20)),
                    "resolved_at": moment(dt.date(2025, 10, 24)),
                    "region": "410102",
                },
                {
                    "uscc": usccs[1],
                    "field": FIELD,
                    "opened_at": moment(dt.date(2025, 10, 9)),
                    "resolved_at": None,
                    "region": "410305",
                },
            ],
        )
        conn.execute(
            supervision_items.insert().values(
                kind="case_overdue",
                subject="policy:x:notify",
                department=HRSS,
                policy_id=POLICY,
                stage="notify",
                summary="逾期",
                cases=1,
                max_over=6,
                raised_at=moment(dt.date(2025, 10, 20)),
                deadline=dt.date(2025, 10, 27),
                status="overdue",
                open_key="policy:x:notify",
            )
        )


def city_name(region: str | None) -> str:
    code = (region or "")[:4].ljust(6, "0") if region else ""
    place = find_region(code) if code else None
    return place.full_name if place is not None else "未登记地区"


def from_store(engine: Engine) -> dict[str, dict[str, dict[str, Any]]]:
    """Department and region numbers, one case and one request at a time."""
    out: dict[str, dict[str, dict[str, Any]]] = {"departments": {}, "regions": {}}

    def row(kind: str, name: str) -> dict[str, Any]:
        return out[kind].setdefault(name, defaultdict(int) | {"spans": [], "data_spans": []})

    with engine.connect() as conn:
        paid_on = dict(
            conn.execute(
                select(case_events.c.case_id, func.min(case_events.c.at))
                .where(case_events.c.to_state == "paid")
                .group_by(case_events.c.case_id)
            ).all()
        )
        for c in conn.execute(select(cases)).mappings():
            for target in (row("departments", HRSS), row("regions", city_name(c["region"]))):
                target["opened"] += 1
                if c["state"] in cm.STAGE_OF:
                    target["in_progress"] += 1
                    promised = cm.case_commitment(conn, dict(c), TODAY)
                    target["overdue"] += bool(promised and promised["days_over"] > 0)
                if c["id"] in paid_on:
                    target["paid"] += 1
                    days = working_days_between(cm.beijing_day(c["created_at"]), cm.beijing_day(paid_on[c["id"]]))
                    target["spans"].append(days.days)
        version = conn.execute(select(func.max(cases.c.policy_version)).where(cases.c.policy_id == POLICY)).scalar()
        found = pairs(conn, policy_ids={POLICY}, statuses=["eligible"])  # the match library, pair by pair
        row("departments", HRSS)["base"] = sum(1 for m in found if m.version == version)
        last_day = add_working_days(TODAY, -inbox.reply_days()).date
        fields = inbox.fields_of(None)
        for r in conn.execute(select(data_requests)).mappings():
            if r["field"] not in fields:
                continue
            targets = [row("regions", city_name(r["region"]))]
            if inbox.holds(fields[r["field"]].source, HRSS):
                targets.append(row("departments", HRSS))
            answered = r["resolved_at"] or r["refused_at"]
            for target in targets:
                if answered is not None:
                    target["data_answered"] += 1
                    span = working_days_between(cm.beijing_day(r["opened_at"]), cm.beijing_day(answered))
                    target["data_spans"].append(span.days)
                elif cm.beijing_day(r["opened_at"]) <= last_day:
                    target["data_late"] += 1
    return out


def median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def test_scorecard_numbers_equal_the_store_and_follow_the_rule(site: Engine, pinned: None) -> None:
    seeded(site)
    admin = login(site, "admin")
    body = admin.get("/api/console/scorecard").json()  # fills the cases' regions first
    expected = from_store(site)
    assert body["as_of"] == TODAY.isoformat()
    for kind in ("departments", "regions"):
        shown = {r["name"]: r for r in body[kind]}
        for name, want in expected[kind].items():
            if not any(want[k] for k in ("opened", "data_answered", "data_late")):
                continue  # only requests still within their reply time: nothing to score
            assert name in shown, (name, dict(want), list(shown))
            got = shown[name]
            for key in ("in_progress", "overdue", "paid", "data_answered", "data_late"):
                assert got[key] == want[key], (kind, name, key)
            assert got["median_days"] == median(want["spans"]) and got["data_median"] == median(want["data_spans"])
            if want["in_progress"]:
                assert got["overdue_rate"] == want["overdue"] / want["in_progress"]
        rates = [r["overdue_rate"] for r in body[kind]]
        assert rates == sorted(rates) and [r["rank"] for r in body[kind]] == list(range(1, len(rates) + 1))
    hr = {r["name"]: r for r in body["departments"]}[HRSS]
    assert hr["overdue"] == 5 and hr["items_late"] == 1 and hr["base"] == expected["departments"][HRSS]["base"]
    assert hr["data_late"] >= 1 and 4 in [s for s in expected["departments"][HRSS]["data_spans"]]
    assert {r["name"]: r for r in body["regions"]}["河南省郑州市"]["overdue"] >= 2  # two staged in 410102

    page = login(site, "hr").get("/console/scorecard").text  # a department sees the whole ranking
    assert "排名规则：先比逾期率" in page and HRSS in page and "河南省郑州市" in page
    sheet = load_workbook(io.BytesIO(admin.get("/console/scorecard/export.xlsx").content)).active
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    hr_line = next(r for r in cells if r[1] == HRSS)
    assert hr_line[3] == str(hr["overdue"]) and any(r[0] and str(r[0]).startswith("排名规则") for r in cells)
    result = CliRunner().invoke(cli, ["supervise", "scorecard", "--json", "--db", str(site.url)])
    assert result.exit_code == 0, result.output
    cli_body = json.loads(result.output)
    assert cli_body["departments"] == json.loads(json.dumps(body["departments"]))
    text = CliRunner().invoke(cli, ["supervise", "scorecard", "--db", str(site.url)]).output
    assert f"名称 {HRSS}；在办案件 {hr['in_progress']}；逾期案件 {hr['overdue']}" in text and "排名规则" in text
    assert login(site, "fin").get("/console/scorecard").status_code == 403
