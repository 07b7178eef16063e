"""Sending due outbox rows: claim, deliver through the row's channel, mark; retry with backoff.

Two paths, chosen by the channel:

* Local channels (portal, console/file): one transaction claims the row (a conditional UPDATE from
  the status and attempt count just read, so two workers never both win), delivers (the portal
  insert is in that same transaction) and marks it sent. Portal messages are exactly-once; a file
  line may repeat only if the commit itself fails after the write.
* Remote channels (HTTP SMS): a network call cannot be rolled back and must not hold the store's
  write lock for seconds, so the row is first claimed as `sending` with a lease (next_attempt_at =
  now + lease) and committed, then the gateway is called with the idempotency key
  `mianshen-outbox-<id>`, then the result is committed. Attempts are counted at the claim.

The remaining window, honestly: if the process dies after the gateway accepted the message but
before the "sent" commit, the row stays `sending`. When its lease runs out it is sent again with
the *same* idempotency key — a gateway that deduplicates on it delivers once; one that ignores it
may deliver twice (at-least-once). With MIANSHEN_SMS_AT_MOST_ONCE=1 such a row is instead marked
failed ("结果未知，请人工核实") and never resent (at-most-once: it may not have been delivered at all).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select

from mianshen.integration.links import case_link
from mianshen.notify.channels import Channel, ChannelError, Delivery, channels_from_env
from mianshen.notify.templates import SECRETS, TemplateError, redact, render
from mianshen.settings import current as settings
from mianshen.store.schema import cases, outbox, policy_versions

UNKNOWN_RESULT = "上次发送后进程中断，结果未知；为避免重复短信不再重发，请人工核实是否已送达"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base: dt.timedelta = dt.timedelta(minutes=1)
    cap: dt.timedelta = dt.timedelta(hours=1)
    lease: dt.timedelta = dt.timedelta(minutes=5)  # a `sending` claim older than this is a crashed sender
    resend_unknown: bool = True  # False: at-most-once for remote channels (see module docstring)

    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait after the `attempts`-th failure: base, 2·base, 4·base … capped (gateways recover slowly)."""
        return min(self.base * (2 ** max(attempts - 1, 0)), self.cap)

    @classmethod
    def from_env(cls) -> RetryPolicy:
        s = settings()
        return cls(
            max_attempts=s.notify_max_attempts,
            base=dt.timedelta(seconds=s.notify_backoff_seconds),
            cap=dt.timedelta(seconds=s.notify_backoff_cap_seconds),
            resend_unknown=not s.sms_at_most_once,
        )


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lost_race: int = 0  # claimed by another sender between our read and our claim
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"已发送 {self.sent} 条，待重试 {self.retrying} 条，失败 {self.failed} 条"


@dataclass(frozen=True)
class _Row:
    id: int
    status: str
    attempts: int
    item: Delivery


def _due(conn: Connection, now: dt.datetime, limit: int) -> list[_Row]:
    due = outbox.c.next_attempt_at <= now
    query = (
        select(outbox)
        .where(or_(and_(outbox.c.status == "pending", due), and_(outbox.c.status == "sending", due)))
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
    )
    rows = []
    for r in conn.execute(query).mappings():
        payload = {**_case_context(conn, r["case_id"]), **json.loads(r["payload"] or "{}")}
        if r["channel"] == "sms" and r["case_id"] is not None:  # the way from the SMS to the case
            payload.setdefault("link", case_link(r["case_id"], r["uscc"]))
        item = Delivery(r["id"], r["uscc"], r["case_id"], r["step"], r["channel"], r["template"], payload)
        rows.append(_Row(r["id"], r["status"], r["attempts"], item))
    return rows


def _case_context(conn: Connection, case_id: int | None) -> dict[str, Any]:
    """Defaults from the case for fields a transition's payload may leave out (amount, title …).

    The payload, written at transition time, wins; the case only fills gaps, so a template never
    fails merely because its enqueuer did not repeat what the case already records.
    """
    if case_id is None:
        return {}
    query = (
        select(cases, policy_versions.c.title)
        .join(
            policy_versions,
            and_(policy_versions.c.policy_id == cases.c.policy_id, policy_versions.c.version == cases.c.policy_version),
            isouter=True,
        )
        .where(cases.c.id == case_id)
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        return {}
    keys = ("title", "deadline", "publicity_from", "publicity_to", "reason", "state")
    context = {k: str(row[k]) for k in keys if row[k] is not None}
    amount = row["confirmed_amount"] or row["amount"]
    if amount is not None:
        context["amount"] = amount
    return context


def _update(conn: Connection, row_id: int, seen: tuple[str, int], **values: Any) -> bool:
    """Change the row only if its (status, attempts) is still `seen`: the claim that makes senders exclusive.
    A row that ends (sent, or failed for good) forgets its secrets: a login code is kept only to send it."""
    status, attempts = seen
    if values.get("status") in ("sent", "failed"):
        stored = conn.execute(select(outbox.c.payload).where(outbox.c.id == row_id)).scalar()
        payload = json.loads(stored or "{}")
        if any(k in payload for k in SECRETS):
            values["payload"] = json.dumps(redact(payload), ensure_ascii=False, default=str)
    result = conn.execute(
        outbox.update()
        .where(outbox.c.id == row_id, outbox.c.status == status, outbox.c.attempts == attempts)
        .values(**values)
    )
    return result.rowcount == 1


def _failure_values(
    attempts: int, error: str, permanent: bool, now: dt.datetime, policy: RetryPolicy
) -> dict[str, Any]:
    if permanent or attempts >= policy.max_attempts:
        return {"status": "failed", "attempts": attempts, "last_error": error[:500]}
    return {
        "status": "pending",
        "attempts": attempts,
        "last_error": error[:500],
        "next_attempt_at": now + policy.backoff(attempts),
    }


def send_due(
    engine: Engine,
    now: dt.datetime | None = None,
    channels: dict[str, Channel] | None = None,
    policy: RetryPolicy | None = None,
    limit: int = 200,
) -> SendReport:
    """One pass over the rows due at `now` (UTC); each row is sent at most once per pass."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    channels = channels if channels is not None else channels_from_env()
    policy = policy or RetryPolicy.from_env()
    report = SendReport()
    with engine.connect() as conn:
        rows = _due(conn, now, limit)
    for row in rows:
        outcome = _send_row(engine, row, now, channels, policy)
        if outcome == "sent":
            report.sent += 1
        elif outcome == "lost":
            report.lost_race += 1
        else:
            report.retrying += outcome == "pending"
            report.failed += outcome == "failed"
    with engine.connect() as conn:
        ids = [r.id for r in rows]
        if ids:
            errors = conn.execute(
                select(outbox.c.id, outbox.c.last_error).where(outbox.c.id.in_(ids), outbox.c.last_error.is_not(None))
            )
            report.errors = [f"#{i}：{e}" for i, e in errors if e]
    return report


def _send_row(engine: Engine, row: _Row, now: dt.datetime, channels: dict[str, Channel], policy: RetryPolicy) -> str:
    attempts = row.attempts + 1
    channel = channels.get(row.item.channel)
    if row.status == "sending" and not policy.resend_unknown:
        with engine.begin() as conn:
            ok = _update(conn, row.id, ("sending", row.attempts), status="failed", last_error=UNKNOWN_RESULT)
        return "failed" if ok else "lost"
    try:
        if channel is None:
            raise TemplateError(f"未知的通知渠道“{row.item.channel}”")
        message = render(row.item.template, row.item.payload, row.item.uscc)
    except TemplateError as exc:  # retrying cannot fix a bad row: fail it now, naming the problem
        with engine.begin() as conn:
            ok = _update(
                conn, row.id, (row.status, row.attempts), **_failure_values(attempts, str(exc), True, now, policy)
            )
        return "failed" if ok else "lost"

    remote = channel.remote
    try:
        if remote:
            with engine.begin() as conn:  # phase 1: claim with a lease, committed before the call
                claimed = _update(
                    conn,
                    row.id,
                    (row.status, row.attempts),
                    status="sending",
                    attempts=attempts,
                    next_attempt_at=now + policy.lease,
                )
            if not claimed:
                return "lost"
            with engine.connect() as conn:
                channel.send(conn, row.item, message)
            with engine.begin() as conn:  # phase 2: only our own claim may be marked
                _update(conn, row.id, ("sending", attempts), status="sent", sent_at=now, last_error=None)
            return "sent"
        with engine.begin() as conn:  # local: claim, deliver and mark commit together
            if not _update(
                conn, row.id, (row.status, row.attempts), status="sent", attempts=attempts, sent_at=now, last_error=None
            ):
                return "lost"
            channel.send(conn, row.item, message)
        return "sent"
    except ChannelError as exc:
        values = _failure_values(attempts, str(exc), exc.permanent, now, policy)
        with engine.begin() as conn:
            # remote: the claim committed, so the row is `sending` with attempts counted; local: rolled back
            if remote:
                _update(conn, row.id, ("sending", attempts), **values)
            else:
                _update(conn, row.id, (row.status, row.attempts), **values)
        return str(values["status"])
