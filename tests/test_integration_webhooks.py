"""Outbound events: a case driven to paid reaches a department's system as signed webhooks, each
event once (by key), through a receiver outage (retries with back-off) and a forced re-delivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from mianshen.audit.log import Actor
from mianshen.cases import review
from mianshen.cases.payment_results import mark_paid
from mianshen.cases.payments import create_batch
from mianshen.integration import subscriptions
from mianshen.integration.delivery import deliver_due
from mianshen.integration.events import EVENT_TYPES, publish
from mianshen.integration.signing import mac, sign, verify
from mianshen.integration.tables import webhook_deliveries

from .integration_receiver import Receiver
from .store_fixtures import store
from .test_cases_fixtures import AFTER_PUBLICITY, FINANCE, HRSS, KEJI, KJ, LISTED, sm4_key, to_publicity
from .test_cases_fixtures import publish as publish_policy

__all__ = ["sm4_key", "store"]
ADMIN = Actor("平台管理员", "platform_admin")
LATER = dt.timedelta(hours=2)  # past any back-off of the settings below


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_WEBHOOK_BACKOFF_SECONDS", "60")
    monkeypatch.setenv("MIANSHEN_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("MIANSHEN_WEBHOOK_TIMEOUT_SECONDS", "2")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver("placeholder")
    yield found
    found.stop()


def subscribe(engine: Engine, receiver: Receiver, department: str, algorithm: str) -> int:
    with engine.begin() as conn:
        sid, secret = subscriptions.create(conn, ADMIN, department, receiver.url, list(EVENT_TYPES), algorithm)
    receiver.secrets = [secret]
    return sid


def paid_case(engine: Engine) -> int:
    with engine.begin() as conn:
        publish_policy(conn, LISTED)
    case_id = to_publicity(engine, 1, "200000")
    with engine.begin() as conn:
        assert review.decide(conn, case_id, KJ, AFTER_PUBLICITY)["state"] == "approved"
    batch = create_batch(engine, LISTED, FINANCE).batch_id
    with engine.begin() as conn:
        assert mark_paid(conn, batch, case_id, FINANCE)
    return case_id


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(webhook_deliveries.c.status, func.count()).group_by(webhook_deliveries.c.status))
        return {status: int(n) for status, n in rows}


EXPECTED = [
    ("case.opened", None),
    ("case.transition", "notify"),
    ("case.transition", "confirm"),
    ("case.transition", "start_review"),
    ("case.transition", "start_publicity"),
    ("case.transition", "approve"),
    ("payment_batch.changed", "create"),
    ("case.transition", "add_to_batch"),
    ("payment_batch.changed", "fill"),
    ("case.transition", "mark_paid"),
    ("payment.paid", "mark_paid"),
    ("payment_batch.changed", "paid"),
]


@pytest.mark.parametrize("algorithm", ["hmac-sm3", "hmac-sha256"])
def test_a_case_driven_to_paid_arrives_once_signed_through_an_outage_and_a_redelivery(
    store: Engine, receiver: Receiver, algorithm: str
) -> None:
    receiver.start()
    sid = subscribe(store, receiver, KEJI, algorithm)
    other = Receiver("x")
    other.start()
    subscribe(store, other, HRSS, "hmac-sm3")  # another department: none of 科技厅's events
    try:
        case_id = paid_case(store)
        # the receiver is down for maintenance when the events go out
        receiver.stop()
        assert publish(store) >= len(EXPECTED)
        now = dt.datetime.now(dt.UTC)
        first = deliver_due(store, now)
        assert first.sent == 0 and first.retrying == len(EXPECTED)
        assert "无法连接接收方" in first.errors[0]
        assert deliver_due(store, now + dt.timedelta(seconds=30)).sent == 0  # back-off: not yet due
        receiver.start()  # back, on the same address
        second = deliver_due(store, now + LATER)
        assert second.sent == len(EXPECTED) and statuses(store) == {"sent": len(EXPECTED)}
        assert receiver.refused == [] and receiver.repeats == 0
        assert receiver.kinds() == EXPECTED
        paid = next(e for e in receiver.accepted.values() if e["type"] == "payment.paid")
        assert paid["data"]["case_id"] == case_id and paid["data"]["paid_amount"] == "200000.00"
        assert paid["occurred_at"].endswith("+08:00")  # Beijing time
        assert other.accepted == {}
        # a forced re-delivery of one event: posted again with the same key, kept once
        with store.begin() as conn:
            sub = subscriptions.load(conn, sid, KEJI)
            one = (
                conn.execute(select(webhook_deliveries.c.id).where(webhook_deliveries.c.subscription_id == sid))
                .scalars()
                .first()
            )
            assert subscriptions.redeliver(conn, ADMIN, sub, one) == 1
        assert deliver_due(store, now + LATER).sent == 1
        assert receiver.repeats == 1 and len(receiver.accepted) == len(EXPECTED)
        assert publish(store) == 0  # a second pass over the same audit rows adds nothing
    finally:
        other.stop()


def test_a_receiver_down_too_long_fills_the_dead_letter_list_and_redelivery_empties_it(
    store: Engine, receiver: Receiver
) -> None:
    receiver.start()
    sid = subscribe(store, receiver, KEJI, "hmac-sm3")
    receiver.stop()
    paid_case(store)
    publish(store)
    now = dt.datetime.now(dt.UTC)
    for attempt in range(3):  # MIANSHEN_WEBHOOK_MAX_ATTEMPTS
        deliver_due(store, now + attempt * LATER)
    assert statuses(store) == {"dead": len(EXPECTED)}
    with store.connect() as conn:
        dead = subscriptions.dead_letters(conn, sid)
    assert len(dead) == len(EXPECTED) and "无法连接接收方" in dead[0]["last_error"]
    receiver.start()
    assert deliver_due(store, now + 4 * LATER).sent == 0  # dead letters wait for a person
    with store.begin() as conn:
        assert subscriptions.redeliver(conn, ADMIN, subscriptions.load(conn, sid, None)) == len(EXPECTED)
    assert deliver_due(store, now + 4 * LATER).sent == len(EXPECTED)
    assert receiver.kinds() == EXPECTED and receiver.repeats == 0


def test_a_receiver_refusing_a_post_gets_it_again_and_a_rotated_secret_still_verifies(
    store: Engine, receiver: Receiver
) -> None:
    receiver.start()
    sid = subscribe(store, receiver, KEJI, "hmac-sm3")
    old = receiver.secrets[0]
    receiver.secrets = ["not the secret"]  # the receiver refuses (401): retried, not lost
    paid_case(store)
    publish(store)
    now = dt.datetime.now(dt.UTC)
    report = deliver_due(store, now)
    assert report.retrying == len(EXPECTED) and "HTTP 401" in report.errors[0]
    with store.begin() as conn:
        new = subscriptions.rotate(conn, ADMIN, subscriptions.load(conn, sid, KEJI))
    assert new != old
    receiver.secrets = [old]  # a receiver not yet switched over still verifies (grace period)
    assert deliver_due(store, now + LATER).sent == len(EXPECTED)
    assert len(receiver.accepted) == len(EXPECTED)


def test_signatures_refuse_tampering_replay_and_the_wrong_algorithm() -> None:
    at = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
    body = b'{"id":"a1"}'
    headers = sign("hmac-sm3", ["s3cret"], "a1", body, at)
    window = dt.timedelta(minutes=5)
    assert verify("s3cret", headers, body, at + dt.timedelta(minutes=1), window) is None
    assert verify("s3cret", headers, body + b" ", at, window) == "签名不符"
    assert verify("other", headers, body, at, window) == "签名不符"
    assert "重放" in str(verify("s3cret", headers, body, at + dt.timedelta(minutes=6), window))
    assert mac("hmac-sm3", "k", 1, "a", b"") != mac("hmac-sha256", "k", 1, "a", b"")
    assert mac("hmac-sm3", "k", 1, "a", b"{}") == rfc2104_sm3(b"k", b"1.a.{}")  # what a receiver computes by hand


def rfc2104_sm3(key: bytes, message: bytes) -> str:
    """HMAC written out from RFC 2104 over plain SM3 (block 64 bytes): a second implementation."""
    from cryptography.hazmat.primitives import hashes

    def sm3(data: bytes) -> bytes:
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize()

    padded = key.ljust(64, b"\0")
    inner = sm3(bytes(b ^ 0x36 for b in padded) + message)
    return sm3(bytes(b ^ 0x5C for b in padded) + inner).hex()


def test_subscriptions_refuse_bad_urls_and_unknown_events(store: Engine) -> None:
    from mianshen.errors import InputError

    with store.begin() as conn:
        with pytest.raises(InputError, match="接收地址"):
            subscriptions.create(conn, ADMIN, KEJI, "ftp://x", ["case.opened"])
        with pytest.raises(InputError, match="未知的事件类型：case.bogus"):
            subscriptions.create(conn, ADMIN, KEJI, "http://127.0.0.1:9/x", ["case.bogus"])


def test_the_worker_publishes_and_delivers_and_a_subscription_starts_from_now(
    store: Engine, receiver: Receiver
) -> None:
    from mianshen.jobs.runner import run_once

    with store.begin() as conn:
        publish_policy(conn, LISTED)
    before = to_publicity(store, 2, "100000")  # history before anyone subscribed: not replayed
    receiver.start()
    subscribe(store, receiver, KEJI, "hmac-sm3")
    with store.begin() as conn:
        assert review.decide(conn, before, KJ, AFTER_PUBLICITY)["state"] == "approved"
    results = {r.name: r for r in run_once(store, names=["publish_events", "deliver_webhooks"])}
    assert results["publish_events"].status == "ok" and results["deliver_webhooks"].changed == 1
    assert receiver.kinds() == [("case.transition", "approve")]
