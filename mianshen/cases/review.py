"""Department review (免申不免审): data freshness re-check, on-site check, 公示, objections, budget.

Each function here decides, then calls one transition; all in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.exc import OperationalError

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.cases import transitions as tr
from mianshen.cases.exclusive import guard_exclusive
from mianshen.clock import now as platform_now
from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.profiles.current import read_profile
from mianshen.profiles.sources import get_source
from mianshen.reference.workdays import add_working_days
from mianshen.rules.versions import same_period
from mianshen.store.schema import case_events, cases, dishonesty_records, onsite_checks, policy_versions

COMMITTED = ("approved", "in_payment", "paid", "returned", "archived")  # amounts that count against the budget


def today() -> dt.date:
    return clock_today()


def case_amount(case: dict[str, Any]) -> Decimal:
    return Decimal(case["confirmed_amount"] or case["amount"] or "0").quantize(Decimal("0.01"))


# --- 数据时效复核 ----------------------------------------------------------------------------------


def policy_fields(conn: Connection, policy_id: str, version: int) -> tuple[str, ...]:
    """The profile fields the published policy reads (parsed from the stored YAML, as published)."""
    from mianshen.rules.loader import load_policy
    from mianshen.sqlgen.compile import needed_fields

    source = conn.execute(
        select(policy_versions.c.source_yaml).where(
            policy_versions.c.policy_id == policy_id, policy_versions.c.version == version
        )
    ).scalar_one()
    with tempfile.TemporaryDirectory() as tmp:  # the loader reads files, so locations point at a file
        path = Path(tmp) / f"{policy_id}.yaml"
        path.write_text(source, encoding="utf-8")
        return needed_fields(load_policy(path))


def freshness(conn: Connection, case: dict[str, Any], on: dt.date) -> dict[str, Any]:
    """Each field the policy reads: its as-of date against its source's freshness_days."""
    fields = policy_fields(conn, case["policy_id"], case["policy_version"])
    try:
        profile = read_profile(conn, case["uscc"], on)
    except InputError:
        return {"checked": [], "stale": [], "missing": list(fields), "as_of": on.isoformat()}
    checked, stale, missing = [], [], []
    for name in fields:
        value = profile.fields.get(name)
        if value is None:
            missing.append(name)
            continue
        if value.derived:
            continue  # its inputs are checked in their own right
        limit = get_source(conn, value.source_id).freshness_days
        age = (on - value.as_of).days
        checked.append({"field": name, "as_of": value.as_of.isoformat(), "age_days": age, "limit_days": limit})
        if age > limit:
            stale.append(name)
    return {"checked": checked, "stale": stale, "missing": missing, "as_of": on.isoformat()}


def is_seriously_dishonest(conn: Connection, uscc: str, on: dt.date) -> bool:
    """On the 严重失信主体名单 according to the profile library (信用中国 data)."""
    try:
        value = read_profile(conn, uscc, on).fields.get("serious_dishonesty")
    except InputError:
        return False
    return bool(value is not None and value.value is True)


def guard_blocklist(conn: Connection, case: dict[str, Any], on: dt.date) -> bool:
    """Block the case (as the system) when the enterprise is listed; True when it was blocked."""
    if not is_seriously_dishonest(conn, case["uscc"], on):
        return False
    tr.block(conn, case["id"], SYSTEM, "企业列入严重失信主体名单，依规暂停办理")
    return True


def begin_review(conn: Connection, case_id: int, actor: Actor, on: dt.date | None = None) -> dict[str, Any]:
    """confirmed → under review, with the freshness re-check recorded on the event."""
    day = on or today()
    case = tr.load_case(conn, case_id)
    report = freshness(conn, case, day)
    result = tr.start_review(conn, case_id, actor, report)
    if guard_blocklist(conn, result, day):
        return tr.load_case(conn, case_id)
    return result | {"freshness": report}


def last_freshness(conn: Connection, case_id: int) -> dict[str, Any]:
    row = conn.execute(
        select(case_events.c.data)
        .where(case_events.c.case_id == case_id, case_events.c.to_state == "under_review")
        .order_by(case_events.c.id.desc())
        .limit(1)
    ).scalar()
    return dict(json.loads(row).get("freshness") or {}) if row else {}


# --- 现场核验 -------------------------------------------------------------------------------------


def record_onsite(
    conn: Connection,
    case_id: int,
    actor: Actor,
    passed: bool,
    note: str = "",
    attachments: list[dict[str, Any]] | None = None,
) -> int:
    """An on-site check (现场核验) with its photos and documents (already kept by content hash)."""
    case = tr.load_case(conn, case_id)
    tr.authorize(tr.TRANSITIONS["start_publicity"], actor, case, tr.policy_settings(conn, case["policy_id"]))
    if case["state"] != "under_review":
        raise tr.StaleState(f"案件 {case_id} 不在审核中，不能登记现场核验")
    result = "passed" if passed else "failed"
    values = {
        "case_id": case_id,
        "inspector": actor.name,
        "result": result,
        "note": note,
        "at": platform_now(),
        "attachments": json.dumps(attachments or [], ensure_ascii=False),
    }
    check_id = int(conn.execute(onsite_checks.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    files = [{"name": a["name"], "sha256": a["sha256"]} for a in attachments or []]
    record(conn, actor, "case.onsite_check", "case", case_id, None, {"result": result, "note": note, "files": files})
    return check_id


# --- 公示 ---------------------------------------------------------------------------------------


def publicity_end(start: dt.date, days: int) -> dt.date:
    """The last day of a 公示 that starts on `start` and lasts `days` working days (start not counted)."""
    return add_working_days(start, days).date


def open_publicity(
    conn: Connection, case_id: int, actor: Actor, start: dt.date | None = None, stale_reason: str = ""
) -> dict[str, Any]:
    """under review → 公示; refused while data is stale (unless explained) or the on-site check failed."""
    case = tr.load_case(conn, case_id)
    check = last_freshness(conn, case_id)
    if check.get("stale") and not stale_reason.strip():
        raise tr.CaseError(f"数据已超过时效：{'、'.join(check['stale'])}；请更新数据后重新复核，或写明理由后继续")
    failed = conn.execute(
        select(onsite_checks.c.id)
        .where(onsite_checks.c.case_id == case_id)
        .order_by(onsite_checks.c.id.desc())
        .limit(1)
        .where(onsite_checks.c.result == "failed")
    ).scalar()
    if failed is not None:
        raise tr.CaseError("现场核验未通过，不能进入公示；请不予通过并写明理由")
    from mianshen.trust.routing import onsite_missing  # 重点审核 (trust sits above cases)

    if onsite_missing(conn, case_id):
        raise tr.CaseError("本案为重点审核，须先登记通过的现场核验，方可进入公示")
    days = tr.policy_settings(conn, case["policy_id"], case["policy_version"]).publicity_days
    first = start or today()
    return tr.start_publicity(conn, case_id, actor, first, publicity_end(first, days))


# --- 批准与预算 -----------------------------------------------------------------------------------


def lock_policy(conn: Connection, policy_id: str) -> None:
    """Serialise budget decisions of one policy: the sum read must not change before the write."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(policy_id.encode()).digest()[:7], "big")
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    else:  # SQLite has one writer: any write takes the lock, and later reads see the latest data
        try:
            conn.execute(
                policy_versions.update()
                .where(policy_versions.c.policy_id == policy_id)
                .values(state=policy_versions.c.state)
            )
        except OperationalError as exc:  # another writer committed after this transaction's snapshot
            raise tr.StaleState(f"政策 {policy_id} 正由他人同时审批，请刷新后重试") from exc


def budget_used(conn: Connection, policy_id: str, versions: list[int] | None = None) -> Decimal:
    """Committed money of the policy (of the given versions only: one period's, see `period_budget`)."""
    query = select(cases.c.confirmed_amount, cases.c.amount).where(
        cases.c.policy_id == policy_id, cases.c.state.in_(COMMITTED)
    )
    if versions is not None:
        query = query.where(cases.c.policy_version.in_(versions))
    return sum((Decimal(c or a or "0") for c, a in conn.execute(query)), Decimal(0))


def period_budget(conn: Connection, policy_id: str, version: int) -> tuple[Decimal | None, Decimal]:
    """The budget of the case's period and what that period has committed. A top-up or correction is a
    later version of the same period (its budget counts); a renewal starts a new period with its own
    budget, so 2025's approvals do not use up 2026's money."""
    rows = conn.execute(
        select(policy_versions.c.version, policy_versions.c.valid_from, policy_versions.c.valid_to).where(
            policy_versions.c.policy_id == policy_id
        )
    ).all()
    period = [r.version for r in same_period(rows, version)]
    if len(period) == len(rows):  # no renewal: the policy's one period, as before
        return tr.policy_settings(conn, policy_id).budget, budget_used(conn, policy_id)
    return tr.policy_settings(conn, policy_id, max(period)).budget, budget_used(conn, policy_id, period)


def decide(conn: Connection, case_id: int, actor: Actor, on: dt.date | None = None) -> dict[str, Any]:
    """After 公示: approve within the budget, else budget_wait; blocked if now on the 严重失信 list."""
    day = on or today()
    case = tr.load_case(conn, case_id)
    if case["state"] == "publicity" and case["publicity_to"] and day <= case["publicity_to"]:
        raise tr.CaseError(f"公示期至 {case['publicity_to']} 止，期满后方可批准")
    tr.authorize(
        tr.TRANSITIONS["approve"], actor, case, tr.policy_settings(conn, case["policy_id"], case["policy_version"])
    )
    lock_policy(conn, case["policy_id"])
    if guard_blocklist(conn, case, day) or guard_exclusive(conn, case, actor):
        return tr.load_case(conn, case_id)
    limit, used = period_budget(conn, case["policy_id"], case["policy_version"])  # a top-up is a new version
    amount = case_amount(case)
    budget = {"budget": limit, "used": used, "amount": amount}
    over = limit is not None and used + amount > limit
    if case["state"] == "budget_wait":
        if over:
            raise tr.CaseError(f"预算仍不足（预算 {limit}，已批准 {used}，本案 {amount}），请追加预算后再批准")
        return tr.resume_budget(conn, case_id, actor, budget)
    return (tr.wait_budget if over else tr.approve)(conn, case_id, actor, budget)


def publicity_due(conn: Connection, day: dt.date) -> list[int]:
    """Cases whose 公示 ended before `day` (the last 公示 day itself is still open)."""
    query = select(cases.c.id).where(cases.c.state == "publicity", cases.c.publicity_to < day).order_by(cases.c.id)
    return list(conn.execute(query).scalars())


def confirmations_due(conn: Connection, day: dt.date) -> list[int]:
    """Notified cases whose confirmation deadline passed before `day`."""
    query = select(cases.c.id).where(cases.c.state == "notified", cases.c.deadline < day).order_by(cases.c.id)
    return list(conn.execute(query).scalars())


def approve_due(conn: Connection, on: dt.date | None = None, actor: Actor = SYSTEM) -> list[int]:
    """Scheduled: approve every case whose 公示 ended without objection (idempotent)."""
    day = on or today()
    return [cid for cid in publicity_due(conn, day) if decide(conn, cid, actor, day)["state"] == "approved"]


def clawback(conn: Connection, case_id: int, actor: Actor, reason: str) -> int:
    """A commitment proved false: the case goes to clawback and a dishonesty record is written."""
    case = tr.claw_back(conn, case_id, actor, reason)
    values = {"uscc": case["uscc"], "case_id": case_id, "reason": reason, "recorded_by": actor.name}
    rid = conn.execute(dishonesty_records.insert().values(**values, at=platform_now())).inserted_primary_key
    record(conn, actor, "dishonesty.record", "enterprise", case["uscc"], None, {"case": case_id, "reason": reason})
    return int(rid[0])  # type: ignore[index]


def expire_due(conn: Connection, on: dt.date | None = None) -> list[int]:
    """Scheduled: notified cases past their confirmation deadline expire (idempotent)."""
    return [tr.expire(conn, cid)["id"] for cid in confirmations_due(conn, on or today())]
