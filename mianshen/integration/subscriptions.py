"""Webhook subscriptions per department: URL, event types, signing algorithm, secret rotation;
and the dead-letter list with re-delivery.

A secret is shown once, when made or rotated; the store keeps it SM4-sealed. After a rotation the
previous secret stays valid for a grace period (settings.rotation_grace): posts carry a signature
under each, so a receiver can switch over without losing a post.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, func, select

from mianshen.audit.log import Actor, record
from mianshen.clock import real_now
from mianshen.errors import InputError
from mianshen.integration import settings
from mianshen.integration.events import EVENT_TYPES, start_cursor
from mianshen.integration.signing import ALGORITHMS, new_secret, seal
from mianshen.integration.tables import integration_events, webhook_deliveries, webhook_subscriptions

MAX_URL = 500


def check_url(url: str) -> str:
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > MAX_URL:
        raise InputError("接收地址应为 http:// 或 https:// 开头的完整网址（不超过 500 字）", field="url")
    return text


def check_events(kinds: list[str]) -> list[str]:
    unknown = [k for k in kinds if k not in EVENT_TYPES]
    if unknown:
        raise InputError(f"未知的事件类型：{'、'.join(unknown)}", field="events")
    if not kinds:
        raise InputError("请至少选择一种事件", field="events")
    return [k for k in EVENT_TYPES if k in kinds]


def check_algorithm(algorithm: str) -> str:
    if algorithm not in ALGORITHMS:
        raise InputError("签名算法应为 HMAC-SM3 或 HMAC-SHA256", field="algorithm")
    return algorithm


def create(
    conn: Connection, actor: Actor, department: str, url: str, kinds: list[str], algorithm: str = "hmac-sm3"
) -> tuple[int, str]:
    """A new subscription; returns its id and the secret (shown once). It gets the events of what
    happens from now on (not the platform's history); the first subscription starts the publisher."""
    secret, now = new_secret(), real_now()
    head = start_cursor(conn)
    values: dict[str, Any] = {
        "department": department,
        "url": check_url(url),
        "events": json.dumps(check_events(kinds)),
    }
    values |= {"algorithm": check_algorithm(algorithm), "secret": seal(secret), "active": 1, "from_audit_id": head}
    values |= {"created_by": actor.name, "created_at": now, "updated_at": now}
    sid = int(conn.execute(webhook_subscriptions.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    shown = {"department": department, "url": values["url"], "events": [EVENT_TYPES[k] for k in check_events(kinds)]}
    shown["algorithm"] = values["algorithm"]
    record(conn, actor, "webhook.subscribe", "webhook_subscription", sid, None, shown)
    return sid, secret


def load(conn: Connection, subscription_id: int, department: str | None) -> dict[str, Any]:
    """A subscription of `department` (None: any, for the platform administrator); else 不存在."""
    row = (
        conn.execute(select(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id))
        .mappings()
        .first()
    )
    if row is None or (department is not None and row["department"] != department):
        raise InputError("没有这个订阅")
    return dict(row)


def update(conn: Connection, actor: Actor, sub: dict[str, Any], url: str, kinds: list[str], active: bool) -> None:
    values = {"url": check_url(url), "events": json.dumps(check_events(kinds)), "active": int(active)}
    conn.execute(
        webhook_subscriptions.update()
        .where(webhook_subscriptions.c.id == sub["id"])
        .values(**values, updated_at=real_now())
    )

    def shown(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": row["url"],
            "events": [EVENT_TYPES.get(k, k) for k in json.loads(row["events"])],
            "active": bool(row["active"]),
        }

    record(conn, actor, "webhook.update", "webhook_subscription", sub["id"], shown(sub), shown(values))


def rotate(conn: Connection, actor: Actor, sub: dict[str, Any]) -> str:
    """A new secret; the old one is still signed with until the grace period ends."""
    secret, now = new_secret(), real_now()
    conn.execute(
        webhook_subscriptions.update()
        .where(webhook_subscriptions.c.id == sub["id"])
        .values(
            secret=seal(secret),
            previous_secret=sub["secret"],
            previous_until=now + settings.rotation_grace(),
            updated_at=now,
        )
    )
    record(
        conn,
        actor,
        "webhook.rotate",
        "webhook_subscription",
        sub["id"],
        None,
        {"grace_hours": settings.rotation_grace().total_seconds() / 3600},
    )
    return secret


def active_subscriptions(conn: Connection) -> list[dict[str, Any]]:
    query = select(webhook_subscriptions).where(webhook_subscriptions.c.active == 1)
    return [dict(r) for r in conn.execute(query).mappings()]


def listing(conn: Connection, department: str | None) -> list[dict[str, Any]]:
    """Subscriptions (of a department) with their delivery counts by status."""
    query = select(webhook_subscriptions).order_by(webhook_subscriptions.c.id)
    if department is not None:
        query = query.where(webhook_subscriptions.c.department == department)
    subs = [dict(r) for r in conn.execute(query).mappings()]
    counts = conn.execute(
        select(webhook_deliveries.c.subscription_id, webhook_deliveries.c.status, func.count()).group_by(
            webhook_deliveries.c.subscription_id, webhook_deliveries.c.status
        )
    ).all()
    for sub in subs:
        sub["kinds"] = json.loads(sub["events"])
        sub["counts"] = {status: n for sid, status, n in counts if sid == sub["id"]}
    return subs


def dead_letters(conn: Connection, subscription_id: int, limit: int = 200) -> list[dict[str, Any]]:
    query = (
        select(webhook_deliveries, integration_events.c.event_key, integration_events.c.kind)
        .join(integration_events, integration_events.c.id == webhook_deliveries.c.event_id)
        .where(webhook_deliveries.c.subscription_id == subscription_id, webhook_deliveries.c.status == "dead")
        .order_by(webhook_deliveries.c.id)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def redeliver(conn: Connection, actor: Actor, sub: dict[str, Any], delivery_id: int | None = None) -> int:
    """Queue again one delivery (any status: a receiver that lost a post asks for it again), or, with
    no id, every dead one of the subscription. The event key is unchanged, so a receiver that did get
    it the first time recognises the repeat. Returns how many."""
    where = [webhook_deliveries.c.subscription_id == sub["id"]]
    where.append(webhook_deliveries.c.id == delivery_id if delivery_id else webhook_deliveries.c.status == "dead")
    done = conn.execute(
        webhook_deliveries.update()
        .where(*where, webhook_deliveries.c.status != "sending")
        .values(status="pending", attempts=0, next_attempt_at=real_now(), last_error=None)
    ).rowcount
    if delivery_id and not done:
        raise InputError("没有这条投递，或它正在发送中")
    record(
        conn,
        actor,
        "webhook.redeliver",
        "webhook_subscription",
        sub["id"],
        None,
        {"delivery": delivery_id, "count": done},
    )
    return int(done)
