"""Posting due deliveries to the department systems: at-least-once, with back-off and a dead-letter list.

Runs in the worker (`mianshen worker`, job `deliver_webhooks`), never in a web request. The pattern is
the outbox's remote channel (notify/sender.py): a delivery is claimed as `sending` with a lease and
committed before the network call, so the store is not locked while a receiver is slow; the result
is committed after. A worker that dies mid-post leaves the claim to run out and the post is made
again with the same event key — receivers deduplicate on it (X-Mianshen-Event / Idempotency-Key).

Any 2xx answer is success. Anything else (refused connection, timeout, 4xx, 5xx) is retried after
base·2^(n−1) up to the cap; after the last attempt the delivery is `dead` and waits on the console
for a person to re-deliver it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine, and_, or_, select

from mianshen.clock import real_now
from mianshen.integration import settings
from mianshen.integration.signing import sign, unseal
from mianshen.integration.tables import integration_events, webhook_deliveries, webhook_subscriptions


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    lost_race: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"已投递 {self.sent} 条，待重试 {self.retrying} 条，转入失败列表 {self.dead} 条"


def _due(engine: Engine, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
    d, s, e = webhook_deliveries, webhook_subscriptions, integration_events
    query = (
        select(d.c.id, d.c.status, d.c.attempts, e.c.event_key, e.c.payload, s.c.url, s.c.algorithm)
        .add_columns(s.c.secret, s.c.previous_secret, s.c.previous_until, s.c.active)
        .join(s, s.c.id == d.c.subscription_id)
        .join(e, e.c.id == d.c.event_id)
        .where(or_(d.c.status == "pending", d.c.status == "sending"), d.c.next_attempt_at <= now, s.c.active == 1)
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _update(engine: Engine, row_id: int, seen: tuple[str, int], **values: Any) -> bool:
    """Change the delivery only if it is still as read: the claim that makes workers exclusive."""
    d = webhook_deliveries
    with engine.begin() as conn:
        done = conn.execute(
            d.update().where(and_(d.c.id == row_id, d.c.status == seen[0], d.c.attempts == seen[1])).values(**values)
        ).rowcount
    return bool(done == 1)


def _secrets(row: dict[str, Any], now: dt.datetime) -> list[str]:
    found = [unseal(row["secret"])]
    until = row["previous_until"]
    if row["previous_secret"] and until is not None:
        until = until if until.tzinfo else until.replace(tzinfo=dt.UTC)
        if until > now:
            found.append(unseal(row["previous_secret"]))
    return found


def deliver_due(
    engine: Engine, now: dt.datetime | None = None, client: httpx.Client | None = None, limit: int = 200
) -> DeliveryReport:
    """One pass over the deliveries due at `now` (real time: back-off is elapsed time)."""
    now = (now or real_now()).astimezone(dt.UTC)
    config = settings.delivery()
    report = DeliveryReport()
    own = client is None
    http = client or httpx.Client(timeout=config.timeout, follow_redirects=False, trust_env=False)
    try:
        for row in _due(engine, now, limit):
            outcome = _deliver(engine, http, row, now, config, report)
            setattr(report, outcome, getattr(report, outcome) + 1)
    finally:
        if own:
            http.close()
    return report


def _deliver(
    engine: Engine,
    http: httpx.Client,
    row: dict[str, Any],
    now: dt.datetime,
    config: settings.DeliverySettings,
    report: DeliveryReport,
) -> str:
    attempts = row["attempts"] + 1
    if not _update(
        engine,
        row["id"],
        (row["status"], row["attempts"]),
        status="sending",
        attempts=attempts,
        next_attempt_at=now + config.lease,
    ):
        return "lost_race"
    body = row["payload"].encode()
    headers = sign(row["algorithm"], _secrets(row, now), row["event_key"], body, real_now())
    try:
        answer = http.post(row["url"], content=body, headers=headers)
        error = None if 200 <= answer.status_code < 300 else f"接收方返回 HTTP {answer.status_code}"
    except httpx.TimeoutException:
        error = f"接收方在 {config.timeout:g} 秒内没有应答"
    except httpx.HTTPError as exc:
        error = f"无法连接接收方（{type(exc).__name__}）"
    if error is None:
        _update(engine, row["id"], ("sending", attempts), status="sent", sent_at=now, last_error=None)
        return "sent"
    report.errors.append(f"投递 {row['id']}（{row['event_key']}）：{error}")
    if attempts >= config.max_attempts:
        _update(engine, row["id"], ("sending", attempts), status="dead", last_error=error)
        return "dead"
    wait = config.backoff(attempts)
    _update(engine, row["id"], ("sending", attempts), status="pending", last_error=error, next_attempt_at=now + wait)
    return "retrying"
