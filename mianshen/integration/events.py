"""Business events, derived from the audit log, fanned out to the subscribed department systems.

Why the audit log: every case transition, case opening (one by one or in a match run's batch),
objection, payment, data-request answer and policy publication already writes an audit row in the
same transaction as the change. Reading events from it means an event exists exactly when its change
committed, and no service has to remember to emit one. The rows become visible in id order: every
writer extends the hash chain under one lock (audit/log.py), so a cursor on the id never skips a row
committed late.

`publish` reads the rows after the cursor, writes one `integration_events` row per event (its key
unique, so a pass repeated after a crash adds nothing) and one pending delivery per subscription
that wants it, and moves the cursor — all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select, update

from mianshen.audit.batches import ACTION as BATCH_ACTION
from mianshen.cases.states import TRANSITIONS
from mianshen.catalogue import load_catalogue
from mianshen.clock import beijing, real_now
from mianshen.integration.tables import integration_cursor, integration_events, webhook_deliveries
from mianshen.profiles.inbox import holds
from mianshen.store.schema import audit_log, cases, data_requests, payment_batches, policy_versions

EVENT_TYPES = {
    "case.opened": "立案",
    "case.transition": "案件状态变化",
    "payment.paid": "拨付到账",
    "payment.returned": "退票",
    "payment_batch.changed": "拨付批次变化",
    "payment.mismatch": "拨付结果与核定不符",
    "objection.changed": "异议",
    "data_request.opened": "新的数据需求",
    "data_request.answered": "数据需求已答复",
    "data_request.refused": "数据需求已拒绝",
    "policy.published": "政策发布",
}
CURSOR = "audit"


@dataclass(frozen=True)
class Event:
    key: str
    kind: str
    data: dict[str, Any]
    department: str | None = None
    source: str | None = None  # data requests: the catalogue source holding the field
    region: str | None = None
    policy_id: str | None = None


def _policy(conn: Connection, policy_id: str, version: int | None = None) -> dict[str, Any]:
    query = select(policy_versions.c.department, policy_versions.c.title, policy_versions.c.version).where(
        policy_versions.c.policy_id == policy_id
    )
    query = query.where(policy_versions.c.version == version) if version else query
    row = conn.execute(query.order_by(policy_versions.c.version.desc()).limit(1)).mappings().first()
    return dict(row) if row else {"department": None, "title": None, "version": version}


def _case_event(conn: Connection, key: str, kind: str, case_id: int, extra: dict[str, Any]) -> Event | None:
    case = conn.execute(select(cases).where(cases.c.id == case_id)).mappings().first()
    if case is None:
        return None
    policy = _policy(conn, case["policy_id"], case["policy_version"])
    data = {
        "case_id": case_id,
        "policy_id": case["policy_id"],
        "policy_version": case["policy_version"],
        "policy_title": policy["title"],
        "uscc": case["uscc"],
        "period": case["period"],
        "region": case["region"],
        "amount": case["confirmed_amount"] or case["amount"],
    } | extra
    return Event(key, kind, data, policy["department"], None, case["region"], case["policy_id"])


def derive(conn: Connection, row: dict[str, Any]) -> Iterator[Event]:
    """The events one audit row stands for (most rows stand for none)."""
    action, entity, after = row["action"], row["entity_id"], json.loads(row["after"] or "{}")
    before = json.loads(row["before"] or "{}")
    base = f"a{row['id']}"
    if action == "case.open":
        found = _case_event(
            conn, base, "case.opened", int(entity), {"state": after.get("state"), "origin": after.get("origin")}
        )
        yield from [found] if found else []
    elif action.startswith("case.") and action[5:] in TRANSITIONS:
        name = action[5:]
        moved = {"transition": name, "from_state": before.get("state"), "state": TRANSITIONS[name].target}
        for kind, suffix in (("case.transition", ""), *_payment_kinds(name)):
            paid = {"batch_id": after.get("batch"), "paid_amount": after.get("paid_amount")} if suffix else {}
            extra = moved | {k: v for k, v in paid.items() if v is not None} | _reason(after, suffix)
            found = _case_event(conn, base + suffix, kind, int(entity), extra)
            yield from [found] if found else []
    elif action == BATCH_ACTION:
        run, _, policy_id = entity.partition("/")
        opened = select(cases.c.id).where(cases.c.opened_run == int(run), cases.c.policy_id == policy_id)
        for case_id in conn.execute(opened.order_by(cases.c.id)).scalars():
            found = _case_event(
                conn, f"{base}c{case_id}", "case.opened", case_id, {"state": "matched", "origin": "match"}
            )
            yield from [found] if found else []
    elif action.startswith("objection.") and action != "objection.limited" and str(entity).isdigit():
        found = _case_event(conn, base, "objection.changed", int(entity), {"action": action[10:], **_plain(after)})
        yield from [found] if found else []
    elif action == "payment.mismatch":
        for event in _batch_event(conn, base, action, int(entity), after):
            yield Event(event.key, action, event.data | {"problems": after.get("problems", [])}, event.department)
    elif action.startswith("payment_batch."):
        yield from _batch_event(conn, base, action, int(entity), after)
    elif action == "policy.publish":
        policy = _policy(conn, entity, after.get("version"))
        data = {"policy_id": entity, "version": policy["version"], "title": policy["title"]}
        yield Event(base, "policy.published", data, policy["department"], policy_id=entity)
    elif action == "match.run":
        yield from _opened_requests(conn, base, int(entity))
    elif action in ("data.request_answered", "data.request_refused"):
        kind = "data_request.answered" if action.endswith("answered") else "data_request.refused"
        spec = load_catalogue().fields.get(entity)
        data = {"field": entity, **{k: after[k] for k in ("requests", "accepted", "rejected") if k in after}}
        yield Event(base, kind, data, source=spec.source if spec else None)


def _payment_kinds(name: str) -> tuple[tuple[str, str], ...]:
    return {"mark_paid": (("payment.paid", "p"),), "return_payment": (("payment.returned", "p"),)}.get(name, ())


def _reason(after: dict[str, Any], suffix: str) -> dict[str, Any]:
    return {"reason": after.get("reason") or after.get("note")} if suffix and after.get("reason") else {}


def _plain(after: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in after.items() if k in ("objection", "verified", "reason")}


def _batch_event(conn: Connection, base: str, action: str, batch_id: int, after: dict[str, Any]) -> Iterator[Event]:
    batch = conn.execute(select(payment_batches).where(payment_batches.c.id == batch_id)).mappings().first()
    if batch is None:
        return
    policy = _policy(conn, batch["policy_id"])
    data = {"batch_id": batch_id, "policy_id": batch["policy_id"], "action": action[14:], "total": batch["total"]}
    data |= {k: after[k] for k in ("count", "state", "rows") if k in after}
    yield Event(base, "payment_batch.changed", data, policy["department"], policy_id=batch["policy_id"])


def _opened_requests(conn: Connection, base: str, run_id: int) -> Iterator[Event]:
    """One event per field with requests opened in the run (a run may open millions; a department
    reads the list through its API, the event says how many and where to look)."""
    catalogue = load_catalogue().fields
    query = (
        select(data_requests.c.field, func.count())
        .where(data_requests.c.opened_run == run_id)
        .group_by(data_requests.c.field)
        .order_by(data_requests.c.field)
    )
    for field, count in conn.execute(query).all():
        spec = catalogue.get(field)
        data = {"field": field, "run_id": run_id, "opened": int(count)}
        yield Event(f"{base}f{field}"[:96], "data_request.opened", data, source=spec.source if spec else None)


def wants(subscription: dict[str, Any], event: Event, audit_id: int) -> bool:
    if audit_id <= subscription["from_audit_id"] or event.kind not in json.loads(subscription["events"]):
        return False
    if event.department is not None:
        return bool(subscription["department"] == event.department)
    return event.source is not None and holds(event.source, subscription["department"])


def publish(engine: Engine, limit: int = 2000) -> int:
    """One pass: events for up to `limit` audit rows after the cursor. Returns how many events."""
    from mianshen.integration.subscriptions import active_subscriptions

    with engine.begin() as conn:
        position = _lock_cursor(conn)
        if position is None:
            return 0
        query = select(audit_log).where(audit_log.c.id > position).order_by(audit_log.c.id).limit(limit)
        rows = [dict(r) for r in conn.execute(query).mappings()]
        if not rows:
            return 0
        subscriptions = active_subscriptions(conn)
        made = 0
        for row in rows:
            for event in derive(conn, row):
                made += _store(conn, row, event, subscriptions)
        conn.execute(
            update(integration_cursor).where(integration_cursor.c.name == CURSOR).values(position=rows[-1]["id"])
        )
        return made


def _lock_cursor(conn: Connection) -> int | None:
    """The cursor's position, its row locked until commit (a second publisher waits, then re-reads);
    None before the first subscription (nothing to publish for)."""
    where = integration_cursor.c.name == CURSOR
    done = conn.execute(update(integration_cursor).where(where).values(position=integration_cursor.c.position))
    if not done.rowcount:
        return None
    return int(conn.execute(select(integration_cursor.c.position).where(where)).scalar_one())


def start_cursor(conn: Connection) -> int:
    """The audit log's head; the cursor starts there if it has not started. Events begin with the
    first subscription: a platform that has run for years does not replay its history to it."""
    head = int(conn.execute(select(func.coalesce(func.max(audit_log.c.id), 0))).scalar_one())
    if _lock_cursor(conn) is None:
        conn.execute(integration_cursor.insert().values(name=CURSOR, position=head))
    return head


def envelope(event: Event, audit_id: int, at: dt.datetime) -> dict[str, Any]:
    """What is posted. `sequence` (the audit row's number) orders events; several share one."""
    occurred = beijing(at).isoformat()
    return {"id": event.key, "type": event.kind, "sequence": audit_id, "occurred_at": occurred, "data": event.data}


def _store(conn: Connection, row: dict[str, Any], event: Event, subscriptions: list[dict[str, Any]]) -> int:
    exists = conn.execute(select(integration_events.c.id).where(integration_events.c.event_key == event.key)).scalar()
    if exists is not None:
        return 0
    body = json.dumps(envelope(event, row["id"], row["at"]), ensure_ascii=False, default=str)
    now = real_now()
    values = {"kind": event.kind, "audit_id": row["id"], "department": event.department, "source": event.source}
    values |= {"region": event.region, "policy_id": event.policy_id, "payload": body, "created_at": now}
    event_id = conn.execute(integration_events.insert().values(event_key=event.key, **values)).inserted_primary_key[0]  # type: ignore[index]
    chosen = [s["id"] for s in subscriptions if wants(s, event, row["id"])]
    if chosen:
        conn.execute(
            webhook_deliveries.insert(),
            [
                {"subscription_id": sid, "event_id": event_id, "status": "pending", "attempts": 0}
                | {"next_attempt_at": now, "created_at": now}
                for sid in chosen
            ],
        )
    return 1


def pending_count(conn: Connection) -> int:
    waiting = and_(webhook_deliveries.c.status.in_(("pending", "sending")))
    return int(conn.execute(select(func.count()).select_from(webhook_deliveries).where(waiting)).scalar_one())
