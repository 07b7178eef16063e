"""The review queue (审核队列): cases in reach, one case with its evidence, and the department's actions.

Every action is one call of the case services (`mianshen.cases.review` / `transitions`) in one
transaction; the services check the role, the department and the state again, so a stale page or
a double click gets a clear message instead of a second change.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, Engine, select

from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.objections import resolve as settle
from mianshen.cases.states import FINAL, STATES
from mianshen.clock import today as clock_today
from mianshen.reference.workdays import add_working_days
from mianshen.rules.periods import period_label
from mianshen.store.schema import applications, case_events, cases, enterprises, objections, onsite_checks, payments
from mianshen.supervision import ledger
from mianshen.web.console import scope
from mianshen.web.errors import WebError
from mianshen.web.limits import TEXT, capped
from mianshen.web.sessions import Session

# Which actions each state offers the department (labels for buttons).
ACTIONS = {
    "matched": [("notify", "通知企业")],
    "confirmed": [("review", "开始审核（数据时效复核）")],
    "under_review": [("onsite", "登记现场核验"), ("publicity", "审核通过，进入公示"), ("reject", "不予通过")],
    "publicity": [("decide", "公示期满，批准"), ("reject", "不予通过")],
    "objection": [("resolve", "处理异议")],
    "budget_wait": [("decide", "追加预算后批准"), ("reject", "不予通过")],
}


def offered(case: dict[str, Any], today: dt.date) -> list[tuple[str, str]]:
    """The actions a case's state allows today (批准 only once its 公示 has ended)."""
    actions = ACTIONS.get(case["state"], [])
    if case["state"] == "publicity" and case["publicity_to"] is not None and today <= case["publicity_to"]:
        actions = [a for a in actions if a[0] != "decide"]
    return actions


def overdue_ids(conn: Connection, rows: list[dict[str, Any]], today: dt.date) -> set[int]:
    """Which of these cases are past their stage's commitment (the ledger's definition, one query)."""
    if not rows:
        return set()
    query = select(cases.c.id).where(
        cases.c.id.in_([r["id"] for r in rows]),
        ledger.overdue_where(conn, today, {r["policy_id"] for r in rows}),
    )
    return set(conn.execute(query).scalars())


def brief(r: dict[str, Any], overdue: set[int]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "policy_id": r["policy_id"],
        "policy_version": r["policy_version"],
        "uscc": r["uscc"],
        "name": r.get("name") or "",
        "state": r["state"],
        "title": r.get("title") or "",
        "state_label": STATES.get(r["state"], r["state"]),
        "amount": r["confirmed_amount"] or r["amount"],
        "deadline": r["deadline"],
        "publicity_from": r["publicity_from"],
        "publicity_to": r["publicity_to"],
        "overdue": r["id"] in overdue,
        "final": r["state"] in FINAL,
    }


def case_detail(conn: Connection, s: Session, case_id: int) -> dict[str, Any]:
    case = scope.own_case(conn, s, case_id)
    name = conn.execute(select(enterprises.c.name).where(enterprises.c.uscc == case["uscc"])).scalar()
    events = [
        dict(r)
        for r in conn.execute(
            select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.id)
        ).mappings()
    ]
    for e in events:
        e["data"] = json.loads(e["data"]) if e["data"] else {}
        e["to_label"] = STATES.get(e["to_state"], e["to_state"])
    checks = conn.execute(
        select(onsite_checks).where(onsite_checks.c.case_id == case_id).order_by(onsite_checks.c.id)
    ).mappings()
    raised = conn.execute(
        select(objections).where(objections.c.case_id == case_id).order_by(objections.c.id)
    ).mappings()
    paid = conn.execute(select(payments).where(payments.c.case_id == case_id)).mappings().first()
    policy = tr.policy_settings(conn, case["policy_id"], case["policy_version"])
    onsite = [dict(r) | {"files": json.loads(r["attachments"] or "[]")} for r in checks]
    shown = brief({**case, "name": name}, overdue_ids(conn, [case], clock_today()))
    shown.pop("name")
    return {
        "case": {
            **shown,
            "name": name or "",
            "origin": case["origin"],
            "period": case["period"],
            "period_label": period_label(case["period"]),
            "reason": case["reason"],
            "created_at": case["created_at"],
        },
        "policy": {
            "id": policy.policy_id,
            "title": policy.title,
            "kind": policy.kind,
            "department": policy.department,
            "budget": policy.budget,
        },
        "freshness": review.last_freshness(conn, case_id),
        "events": events,
        "timeline": timeline(events, onsite),
        "onsite": onsite,
        "objections": [dict(r) for r in raised],
        "payment": dict(paid) if paid else None,
        "actions": offered(case, clock_today()) if s.role == "department" else [],
    }


def timeline(events: list[dict[str, Any]], onsite: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """办理记录: the state changes and the on-site checks in the order they happened."""
    rows = [
        {"at": e["at"], "what": e["to_label"], "actor": e["actor"], "role": e["role"], "note": e["note"], "files": []}
        for e in events
    ]
    rows += [
        {
            "at": c["at"],
            "what": "现场核验：" + ("通过" if c["result"] == "passed" else "未通过"),
            "actor": c["inspector"],
            "role": "department",
            "note": c["note"],
            "files": c["files"],
        }
        for c in onsite
    ]
    return sorted(rows, key=lambda r: str(r["at"]))


def case_files(conn: Connection, s: Session, case_id: int) -> list[dict[str, Any]]:
    """The photos and documents of a case in reach: its on-site checks' and its application's."""
    scope.own_case(conn, s, case_id)
    out: list[dict[str, Any]] = []
    for (kept,) in conn.execute(select(onsite_checks.c.attachments).where(onsite_checks.c.case_id == case_id)):
        out += json.loads(kept or "[]")
    kept = conn.execute(select(applications.c.attachments).where(applications.c.case_id == case_id)).scalar()
    return out + json.loads(kept or "[]")


def conditions_now(engine: Engine, s: Session, uscc: str, policy_id: str) -> list[dict[str, Any]]:
    """Each condition of the policy in force, as the profile library has the enterprise today: the
    reviewer's 逐条结论 with values, sources and dates (the read is audited as a review)."""
    from mianshen.web import catalog, portal
    from mianshen.web.deps import actor

    item = next((i for i in catalog.published(engine) if i.policy.id == policy_id), None)
    if item is None:
        return []
    with engine.begin() as conn:
        shown = portal.explanation(conn, actor(s), uscc, item, clock_today(), portal.REVIEW_PURPOSE)
    return list(shown["conditions"])


def _text(data: dict[str, Any], key: str) -> str:
    return capped(str(data.get(key) or "").strip(), TEXT, "填写的说明", key)


def _flag(data: dict[str, Any], key: str) -> bool:
    return str(data.get(key, "")).lower() in ("1", "true", "yes", "on", "passed", "upheld")


def act(conn: Connection, s: Session, case_id: int, action: str, data: dict[str, Any]) -> dict[str, Any]:
    """Carry out one department action on a case in reach; returns the case afterwards."""
    from mianshen.web.deps import actor

    case = scope.own_case(conn, s, case_id)
    who = actor(s)
    if action == "notify":
        days = tr.policy_settings(conn, case["policy_id"], case["policy_version"]).confirm_days
        return tr.notify(conn, case_id, who, add_working_days(clock_today(), days).date)
    if action == "review":
        return review.begin_review(conn, case_id, who)
    if action == "onsite":
        files = data.get("attachments") if isinstance(data.get("attachments"), list) else None
        review.record_onsite(conn, case_id, who, _flag(data, "passed"), _text(data, "note"), files)
        return tr.load_case(conn, case_id)
    if action == "publicity":
        return review.open_publicity(conn, case_id, who, stale_reason=_text(data, "stale_reason"))
    if action == "resolve":
        return settle(conn, case_id, who, _flag(data, "upheld"), _text(data, "reason"))
    if action == "decide":
        return review.decide(conn, case_id, who)
    if action == "reject":
        return tr.reject(conn, case_id, who, _text(data, "reason"))
    raise WebError(404, "not_found", f"未知的办理操作“{action}”")
