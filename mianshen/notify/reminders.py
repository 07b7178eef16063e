"""应享未享 reminders: the daily job that keeps eligible benefits from being left unclaimed.

Three kinds, each enqueued through the outbox (so the sender retries and the unique key
(recipient, step, channel) holds):

1. 确认提醒 — cases `notified` whose confirmation deadline is within N working days: remind the
   enterprise. Step `remind:c<case>:<deadline>`: one reminder per deadline (a new deadline, a new one).
2. 数据请求 — open data_requests (enterprises 未知 for want of a field): remind the *department*
   that holds the missing field, not the enterprise, which can do nothing about it. One message
   per (department, policy) per ISO week, step `data:<week>:<policy>`.
3. 申报邀请 — 暂难数据化类 policies cannot be decided from data alone, so an enterprise whose
   match is eligible but has no case is invited to apply (`invite:<policy>:v<version>`), and
   reminded again when the policy's valid_to is within N working days (`invite-due:<policy>:<date>`).

Every step key is fixed by a date window (the deadline, the week), so rerunning on the same day
enqueues nothing new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from mianshen.catalogue import load_catalogue
from mianshen.clock import today as clock_today
from mianshen.matching.read import pairs
from mianshen.reference.workdays import working_days_between
from mianshen.rules.loader import KINDS
from mianshen.store.outbox import department_recipient, enqueue
from mianshen.store.schema import cases, data_needs, policy_versions

KIND_HARD_TO_DIGITISE = "暂难数据化类"
HARD_KINDS = sorted({k for k, v in KINDS.items() if v == KIND_HARD_TO_DIGITISE} | {KIND_HARD_TO_DIGITISE})
STEP_MAX = 48  # outbox.step is String(48)
ENTERPRISE_CHANNELS = ("sms", "portal")
DEPARTMENT_CHANNELS = ("console", "portal")  # departments read the platform, not SMS


@dataclass
class ReminderReport:
    confirmations: int = 0
    data_requests: int = 0
    invitations: int = 0

    def summary(self) -> str:
        return f"确认提醒 {self.confirmations} 条，数据请求 {self.data_requests} 条，申报邀请 {self.invitations} 条"


def step_key(*parts: object) -> str:
    """Join parts with ':'; too long for the column → keep the prefix, hash the rest (still stable)."""
    key = ":".join(str(p) for p in parts)
    if len(key) <= STEP_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{str(parts[0])[: STEP_MAX - 17]}:{digest}"


def _within(today: dt.date, deadline: dt.date | None, window: int) -> bool:
    return deadline is not None and today <= deadline and working_days_between(today, deadline).days <= window


def remind_confirmations(conn: Connection, today: dt.date, window: int) -> int:
    query = (
        select(cases.c.id, cases.c.uscc, cases.c.amount, cases.c.deadline, policy_versions.c.title)
        .join(
            policy_versions,
            and_(policy_versions.c.policy_id == cases.c.policy_id, policy_versions.c.version == cases.c.policy_version),
        )
        .where(cases.c.state == "notified", cases.c.deadline.is_not(None), cases.c.deadline >= today)
        .order_by(cases.c.id)
    )
    count = 0
    for r in conn.execute(query).mappings():
        if not _within(today, r["deadline"], window):
            continue
        payload = {"title": r["title"], "amount": r["amount"] or "0", "deadline": r["deadline"].isoformat()}
        step = step_key("remind", f"c{r['id']}", r["deadline"].isoformat())
        count += bool(enqueue(conn, r["uscc"], step, "confirm_reminder", payload, r["id"], ENTERPRISE_CHANNELS))
    return count


def remind_data_departments(conn: Connection, today: dt.date) -> int:
    """One message per (department, policy): how many enterprises wait for which of its fields
    (the last finished run's counts; the most waited-for field gives the number of enterprises)."""
    catalogue = load_catalogue()
    titles = dict(
        conn.execute(
            select(policy_versions.c.policy_id, policy_versions.c.title).order_by(policy_versions.c.version)
        ).all()
    )  # the latest version's title wins (ordered by version)
    last = conn.execute(select(func.max(data_needs.c.run_id))).scalar()
    waiting: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    rows: list[Any] = [] if last is None else list(conn.execute(select(data_needs).where(data_needs.c.run_id == last)))
    for r in rows:
        spec = catalogue.fields.get(r.field)
        department = (spec.source if spec else "") or "数据主管部门"
        waiting[(department, r.policy_id)][spec.label if spec else r.field] = int(r.enterprises)
    year, week, _ = today.isocalendar()
    count = 0
    for (department, policy_id), by_field in sorted(waiting.items()):
        payload = {
            "department": department,
            "title": titles.get(policy_id, policy_id),
            "count": max(by_field.values()),
            "fields": "、".join(sorted(by_field)),
        }
        step = step_key("data", f"{year}-W{week:02d}", policy_id)
        created = enqueue(
            conn, department_recipient(department), step, "data_request", payload, None, DEPARTMENT_CHANNELS
        )
        count += bool(created)
    return count


def invite_hard_to_digitise(conn: Connection, today: dt.date, window: int) -> int:
    """Enterprises the library finds likely eligible for a 暂难数据化 policy, without a case: invited to apply."""
    published = {
        r.policy_id: r
        for r in conn.execute(
            select(policy_versions).where(
                policy_versions.c.kind.in_(HARD_KINDS), policy_versions.c.state == "published"
            )
        )
    }
    if not published:
        return 0
    opened = {
        (r.policy_id, r.uscc)
        for r in conn.execute(select(cases.c.policy_id, cases.c.uscc).where(cases.c.policy_id.in_(sorted(published))))
    }
    count = 0
    for pair in pairs(conn, policy_ids=set(published), statuses=["eligible"]):
        row = published[pair.policy_id]
        valid_to: dt.date | None = row.valid_to
        if row.version != pair.version or (pair.policy_id, pair.uscc) in opened:
            continue
        if valid_to is not None and valid_to < today:
            continue  # the policy has ended; expire_policies retires it
        deadline = valid_to.isoformat() if valid_to else "政策有效期结束"
        payload = {"title": row.title, "deadline": deadline}
        steps = [(step_key("invite", pair.policy_id, f"v{pair.version}"), "invite_apply")]
        if _within(today, valid_to, window):
            steps.append((step_key("invite-due", pair.policy_id, deadline), "invite_deadline"))
        for step, template in steps:
            count += bool(enqueue(conn, pair.uscc, step, template, payload, None, ENTERPRISE_CHANNELS))
    return count


def run_reminders(engine: Engine, today: dt.date | None = None, window: int = 3) -> ReminderReport:
    """All three reminder kinds in one transaction (a failure enqueues none of them, so a rerun is clean)."""
    today = today or clock_today()
    with engine.begin() as conn:
        return ReminderReport(
            confirmations=remind_confirmations(conn, today, window),
            data_requests=remind_data_departments(conn, today),
            invitations=invite_hard_to_digitise(conn, today, window),
        )
