"""The enterprise portal's view models: my benefits grouped 可享 / 应享未享 / 已享受 / 不符合, with reasons.

Status and amount come from the match library where this enterprise has a row (so the enterprise
sees what the department sees); the explanation comes from the evaluator run on the profile as of
that row's date, so the two agree. Policies without a match row are evaluated as of today. Every
profile read is audited (`profile.read`). Everything returned is plain data (amounts as exact
decimal text), so the pages and the JSON API render the same dicts.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from mianshen.audit.log import Actor, record
from mianshen.cases.applications import time_limit_days
from mianshen.cases.banking import mask_stored
from mianshen.cases.states import FINAL, STATES
from mianshen.cases.transitions import policy_settings
from mianshen.catalogue import load_catalogue
from mianshen.clock import beijing
from mianshen.errors import InputError
from mianshen.matching.read import for_enterprise
from mianshen.profiles.current import StoredProfile, read_profile
from mianshen.profiles.gaps import inputs_by_condition, missing_fields
from mianshen.reference.workdays import add_working_days, working_days_between
from mianshen.rules.evaluate import evaluate
from mianshen.rules.periods import period_label
from mianshen.rules.profile import Profile
from mianshen.rules.trace import RESULT_LABELS, STATUS_LABELS, Result, Trace
from mianshen.rules.values import show
from mianshen.store.schema import applications, case_events, cases, objections
from mianshen.supervision.commitments import case_commitment
from mianshen.web.catalog import Listed
from mianshen.web.deps import ROLE_LABELS

# In the order an enterprise acts on them: what waits for its confirmation first.
GROUPS = {
    "confirm": "待确认",
    "progress": "办理中",
    "received": "已到账·已享受",
    "pending": "应享未享",
    "ineligible": "不符合",
}
RECEIVED = frozenset({"paid", "archived"})
# A benefit's way to the account, for the progress bar on 我的待遇
PROGRESS_STEPS = ("matched", "notified", "confirmed", "under_review", "publicity", "approved", "in_payment", "paid")
WAITING = frozenset({"matched", "notified", "declined", "expired"})  # eligible, not (or never) confirmed
REFUSED = frozenset({"rejected", "clawback"})
HARD = "暂难数据化类"
Row = dict[str, Any]


PORTAL_PURPOSE = "企业门户：本企业查看政策享受情况"
REVIEW_PURPOSE = "部门审核：逐条核对享受条件"


class Profiles:
    """This enterprise's profile per evaluation date, read once per date and audited each time.

    With `deferred` (a list), the audit records wait there and the caller writes them afterwards in
    a short write transaction (`write_reads`): the page reads and explains on a read-only connection,
    so on SQLite the write lock is held for one insert, not for a whole explanation."""

    def __init__(
        self,
        conn: Connection,
        actor: Actor,
        uscc: str,
        purpose: str = PORTAL_PURPOSE,
        deferred: list[dict[str, Any]] | None = None,
    ) -> None:
        self.conn, self.actor, self.uscc, self.purpose, self.deferred = conn, actor, uscc, purpose, deferred
        self.read: dict[dt.date, StoredProfile | None] = {}

    def on(self, day: dt.date) -> StoredProfile | None:
        if day not in self.read:
            try:
                self.read[day] = read_profile(self.conn, self.uscc, day)
            except InputError:
                self.read[day] = None
            after = {"as_of": day.isoformat(), "purpose": self.purpose}
            if self.deferred is not None:
                self.deferred.append(after)
            else:
                record(self.conn, self.actor, "profile.read", "enterprise", self.uscc, None, after)
        return self.read[day]

    def evaluable(self, day: dt.date) -> Profile:
        stored = self.on(day)
        return stored.to_profile() if stored else Profile(self.uscc, {})


def write_reads(conn: Connection, actor: Actor, uscc: str, deferred: list[dict[str, Any]]) -> None:
    """The audit records of profile reads a page made on a read-only connection."""
    for after in deferred:
        record(conn, actor, "profile.read", "enterprise", uscc, None, after)


def _money(value: Any) -> str | None:
    return None if value in (None, "") else format(Decimal(str(value)).quantize(Decimal("0.01")), "f")


def own_cases(conn: Connection, uscc: str) -> dict[str, dict[str, Any]]:
    """Policy id → this enterprise's latest case for it."""
    rows = conn.execute(select(cases).where(cases.c.uscc == uscc).order_by(cases.c.id)).mappings()
    return {r["policy_id"]: dict(r) for r in rows}


def own_matches(conn: Connection, uscc: str, items: list[Listed]) -> dict[str, dict[str, Any]]:
    """Policy id → this enterprise's result in the match library (the version the last run matched)."""
    wanted = {i.policy.id for i in items}
    return {
        pid: {"status": p.status, "amount": p.amount, "policy_version": p.version, "profile_as_of": p.as_of}
        for pid, p in for_enterprise(conn, uscc).items()
        if pid in wanted
    }


def shown(item: Listed, today: dt.date, case: Row | None, match: Row | None) -> bool:
    """名单类 only with a case; the others when in force, matched or with a case."""
    if item.policy.kind == "名单类":
        return case is not None
    return case is not None or match is not None or item.in_force(today)


def spine_traces(traces: list[Trace]) -> list[Trace]:
    out: list[Trace] = []
    for t in traces:
        out.extend(spine_traces(t.children) if t.kind == "all" else [t])
    return out


def missing_data(item: Listed, result: Result, stored: StoredProfile | None) -> list[dict[str, str]]:
    """What data is missing for the unknown conditions, and which department holds it."""
    catalogue, inputs = load_catalogue(), inputs_by_condition(item.policy)
    have = stored.fields if stored else {}
    specs = {n: catalogue.get(n) for n in missing_fields(inputs, result.unknown, have)}
    return [
        {"field": n, "label": s.label if s else n, "department": (s and s.source) or "数据主管部门"}
        for n, s in specs.items()
    ]


def _group(kind: str, status: str, amount: str | None, case: Row | None) -> tuple[str, str]:
    """(group key, one line saying where things stand)."""
    if case is not None:
        state, label = case["state"], STATES.get(case["state"], case["state"])
        if state in RECEIVED:
            return "received", f"{label}，金额 {_money(case['confirmed_amount'] or case['amount'])} 元"
        if state in REFUSED:
            return "ineligible", f"{label}：{case['reason'] or '见办理进度'}"
        if state == "notified":
            return "confirm", f"请于 {case['deadline'] or '期限内'} 前确认金额、对公账户并签署信用承诺"
        if state == "matched":
            return "progress", "符合条件，等待政策执行部门通知确认"
        if state in WAITING:  # declined or expired: it was theirs and was not taken
            return "pending", f"{label}{('：' + case['reason']) if case['reason'] else ''}"
        return "progress", f"{label}{('：' + case['reason']) if case['reason'] else ''}"
    if status == "ineligible":
        return "ineligible", "不符合以下条件"
    if status == "unknown":
        return "pending", "缺少数据，暂无法判断；数据补齐后自动重新匹配" + ("，也可在线申请" if kind == HARD else "")
    if kind == HARD:
        return "pending", "数据比对初步符合，请在线申请并上传材料"
    if amount is not None and Decimal(amount) == 0:
        return "received", "符合条件，按政策直接享受（无需拨付资金）"
    return "progress", "符合条件，等待立案通知"


def benefit(
    item: Listed, profiles: Profiles, today: dt.date, case: Row | None, match: Row | None
) -> tuple[Row, Result]:
    """One policy for this enterprise: group, amount, reasons, and what it can do next."""
    p = item.policy
    day = match["profile_as_of"] if match else today
    result = evaluate(p, profiles.evaluable(day), day)
    status = match["status"] if match else result.status
    amount = _money(match["amount"] if match else result.amount)
    if case is not None:
        amount = _money(case["confirmed_amount"] or case["amount"]) or amount
    group, note = _group(p.kind, status, amount, case)
    if case is None and status != "ineligible" and not item.in_force(today):
        note = f"政策有效期 {p.valid_from} 至 {p.valid_to or '长期'}，今天不在有效期内，未立案"
    open_case = case is not None and case["state"] not in RECEIVED | REFUSED | {"declined", "expired"}
    view = {
        "policy_id": p.id,
        "version": item.version,
        "title": p.title,
        "kind": p.kind,
        "department": p.department,
        "group": group,
        "group_label": GROUPS[group],
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "amount": amount,
        "note": note,
        "as_of": day,
        "failed": [t.text for t in spine_traces(result.conditions) if t.result is False] if group != "received" else [],
        "missing": missing_data(item, result, profiles.on(day)) if status == "unknown" else [],
        "case": case and {k: case[k] for k in ("id", "state", "deadline")} | {"state_label": STATES[case["state"]]},
        "can_confirm": case is not None and case["state"] == "notified",
        "can_apply": p.kind == HARD and item.in_force(today) and not open_case and status != "ineligible",
    }
    return view, result


def benefits(
    conn: Connection,
    actor: Actor,
    uscc: str,
    items: list[Listed],
    today: dt.date,
    deferred: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every benefit shown to this enterprise, and the same grouped for the page."""
    profiles = Profiles(conn, actor, uscc, deferred=deferred)
    own, matched = own_cases(conn, uscc), own_matches(conn, uscc, items)
    listed = []
    for item in items:
        case, match = own.get(item.policy.id), matched.get(item.policy.id)
        if shown(item, today, case, match):
            view = benefit(item, profiles, today, case, match)[0]
            view["stage_commitment"] = case_commitment(conn, dict(case), today) if case is not None else None
            listed.append(view)
    groups = {key: [b for b in listed if b["group"] == key] for key in GROUPS}

    def total(keys: tuple[str, ...]) -> str | None:
        return _money(sum(Decimal(b["amount"]) for k in keys for b in groups[k] if b["amount"]) or None)

    name = next((s.name for s in profiles.read.values() if s and s.name), None)
    # money waiting for confirmation or review, and money received: never one sum of both
    sums = {"waiting": total(("confirm", "progress")), "received": total(("received",))}
    return {"uscc": uscc, "name": name, "as_of": today, "benefits": listed, "groups": groups, "totals": sums}


def trace_rows(traces: list[Trace], depth: int = 0) -> list[dict[str, Any]]:
    """The condition tree flattened for display: sentence, result, data source and as-of date."""
    rows = []
    for t in traces:
        actual = t.actual if t.kind in ("leaf", "implicit") else None
        rows.append(
            {
                "id": t.id,
                "depth": depth,
                "label": t.label,
                "text": t.text,
                "result": {True: "yes", False: "no", None: "unknown"}[t.result],
                "result_label": RESULT_LABELS[t.result],
                "value": _value_text(actual.value) if actual and actual.value is not None else None,
                "source": actual.source if actual and actual.value is not None else None,
                "as_of": actual.as_of if actual and actual.value is not None else None,
                "basis": t.basis,
            }
        )
        rows.extend(trace_rows(t.children, depth + 1))
    return rows


def _value_text(value: Any) -> str:
    """A profile value as a reviewer reads it."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format(value, ",f")
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(sorted(str(v) for v in value))
    return str(value)


def explanation(
    conn: Connection, actor: Actor, uscc: str, item: Listed, today: dt.date, purpose: str = PORTAL_PURPOSE
) -> dict[str, Any]:
    """One policy for this enterprise: the benefit line plus every condition's sentence."""
    profiles = Profiles(conn, actor, uscc, purpose)
    case = own_cases(conn, uscc).get(item.policy.id)
    match = own_matches(conn, uscc, [item]).get(item.policy.id)
    view, result = benefit(item, profiles, today, case, match)
    stored = profiles.on(view["as_of"])
    catalogue = load_catalogue()
    fields = sorted({n for names in inputs_by_condition(item.policy).values() for n in names} & set(catalogue.fields))
    return view | {
        "conditions": trace_rows(result.conditions),
        "amount_steps": result.amount_trace.steps if result.amount_trace else [],
        "guide": {str(k): v for k, v in item.policy.guide.items()},
        "commitment": item.policy.commitment,
        "amount_label": item.policy.amount.label,
        # no amount to apply for: a fixed sum, or a benefit without money (`amount: none`)
        "fixed_amount": item.policy.amount.none
        or isinstance(item.policy.raw.get("amount"), dict)
        and "fixed" in item.policy.raw["amount"],  # type: ignore[operator]
        "correctable": [
            {
                "field": n,
                "label": catalogue.fields[n].label,
                "department": catalogue.fields[n].source or "数据主管部门",
                "current": show(stored.fields[n].value, catalogue.fields[n]) if stored and n in stored.fields else None,
            }
            for n in fields
        ],
    }


FILE_PURPOSE = "企业门户：本企业查看一企一档"


def enterprise_file(conn: Connection, actor: Actor, uscc: str, today: dt.date) -> dict[str, Any]:
    """一企一档: every catalogue field the platform could hold about the enterprise, what it holds
    (value, source, date, disagreeing sources) or that it holds nothing, and who provides it."""
    stored = Profiles(conn, actor, uscc, FILE_PURPOSE).on(today)
    have = stored.fields if stored else {}
    rows = []
    for name, spec in load_catalogue().fields.items():
        if spec.source.startswith("派生"):
            continue  # computed from the others; shown with the policies that use it
        value = have.get(name)
        rows.append(
            {
                "field": name,
                "label": spec.label,
                "value": show(value.value, spec) if value else None,
                "source": value.source if value else None,
                "as_of": value.as_of if value else None,
                "conflicts": [f"{s}：{v}" for s, v in value.conflicts] if value else [],
                "department": spec.source or "数据主管部门",
                "refresh": spec.refresh,
            }
        )
    held = sum(1 for r in rows if r["value"] is not None)
    return {"uscc": uscc, "name": stored.name if stored else None, "as_of": today, "rows": rows, "held": held}


def progress(conn: Connection, case: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """A case's timeline with state labels, and the promised time limit in working days used and left.

    The clock starts when the enterprise confirmed (or applied): the guides promise 兑现 "企业确认后
    N 个工作日内"; it stops when the case is paid or closed.
    """
    policy = policy_settings(conn, case["policy_id"], case["policy_version"])
    rows = conn.execute(select(case_events).where(case_events.c.case_id == case["id"]).order_by(case_events.c.id))
    events = [
        {
            "at": beijing(e.at),
            "from": STATES.get(e.from_state or "", ""),
            "to": STATES.get(e.to_state, e.to_state),
            "state": e.to_state,
            "actor": e.actor if e.role in ("enterprise", "system") else ROLE_LABELS.get(e.role, e.role),
            "note": e.note,
        }
        for e in rows
    ]
    started = next((e["at"] for e in events if e["state"] == "confirmed"), None)
    if started is None and case["origin"] == "application":
        started = beijing(case["created_at"])
    limit = time_limit_days(policy)
    clock: dict[str, Any] = {"limit_days": limit, "started": None, "used": None, "left": None, "provisional": False}
    clock["expected"] = None
    if started is not None:
        stops = [e["at"] for e in events if e["state"] in RECEIVED | FINAL]
        end = stops[0].date() if stops else today
        used = working_days_between(started.date(), end)
        clock.update(started=started.date(), used=used.days, left=limit - used.days, provisional=used.provisional)
        if not stops:  # not paid or closed yet: the day the promise runs out is the latest it should arrive
            clock["expected"] = add_working_days(started.date(), limit).date
    step = None
    if case["deadline"] is not None and case["state"] not in FINAL | RECEIVED:
        step = {"date": case["deadline"], "left": working_days_between(today, case["deadline"]).days}
    app = conn.execute(select(applications.c.attachments).where(applications.c.case_id == case["id"])).scalar()
    raised = conn.execute(select(objections).where(objections.c.case_id == case["id"]).order_by(objections.c.id))
    return {
        **{k: case[k] for k in ("id", "policy_id", "origin", "period", "state", "reason")},
        **{k: getattr(policy, k) for k in ("title", "kind", "department", "commitment")},
        "state_label": STATES.get(case["state"], case["state"]),
        "period_label": period_label(case["period"]),  # 2025年, 2025年3月, 2025年（第1次补发）
        "amount": _money(case["amount"]),
        "confirmed_amount": _money(case["confirmed_amount"]),
        "bank_account": mask_stored(case["bank_account"]) or None,
        "bank_name": case["bank_name"],
        "commitment_signed_at": case["commitment_signed_at"] and beijing(case["commitment_signed_at"]),
        "publicity": {"from": case["publicity_from"], "to": case["publicity_to"]} if case["publicity_from"] else None,
        "time_limit": clock,
        "step_deadline": step,
        "stage_commitment": case_commitment(conn, case, today),
        "events": events,
        "attachments": [{k: a[k] for k in ("name", "sha256", "size")} for a in json.loads(app or "[]")],
        "objections": [{"reason": o.reason, "raised_at": o.raised_at, "resolution": o.resolution} for o in raised],
        "can_confirm": case["state"] == "notified",
        "can_object": case["state"] == "publicity",
        "can_correct_account": case["state"] == "returned",
    }
