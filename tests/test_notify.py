"""Outbox sending: channels, retries with backoff, no duplicates, crash windows."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from mianshen.notify.channels import ConsoleChannel, HttpSmsChannel, PortalChannel, channels_from_env
from mianshen.notify.sender import RetryPolicy, send_due
from mianshen.notify.templates import format_amount, mask_uscc, render
from mianshen.settings import Settings
from mianshen.store.outbox import enqueue
from mianshen.store.schema import outbox, portal_messages

USCC = "91410100MA44XYZ12K"
PAYLOAD = {"title": "小微企业流量资费减免", "amount": "6000", "deadline": "2025-07-21"}
POLICY = RetryPolicy(max_attempts=5, base=dt.timedelta(seconds=60), cap=dt.timedelta(seconds=3600))


class Gateway:
    """A local SMS gateway that answers 500 to the first `failures` requests, then 200."""

    def __init__(self, failures: int = 2, code: int = 500) -> None:
        self.failures, self.code = failures, code
        self.requests: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["header_key"] = self.headers["Idempotency-Key"]
                gateway.requests.append(body)
                failing = len(gateway.requests) <= gateway.failures
                if not failing and body["idempotency_key"] not in {d["idempotency_key"] for d in gateway.delivered}:
                    gateway.delivered.append(body)  # a real gateway deduplicates on the key too
                self.send_response(gateway.code if failing else 200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.close()


def _queue(store: Engine, channels: tuple[str, ...] = ("sms",), step: str = "case1:notify") -> list[int]:
    with store.begin() as conn:
        return enqueue(conn, USCC, step, "case_notified", PAYLOAD, None, channels)


def _row(store: Engine, row_id: int) -> dict[str, Any]:
    with store.connect() as conn:
        return dict(conn.execute(select(outbox).where(outbox.c.id == row_id)).mappings().one())


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)  # SQLite: naive


def _later(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


def test_template_text_is_chinese_masked_and_formatted() -> None:
    msg = render("case_notified", PAYLOAD, USCC)
    assert msg.text == (
        "【免申即享】贵单位（9141**********Z12K）符合《小微企业流量资费减免》，可享 6,000.00 元，请于 2025-07-21 前登录平台确认"
    )
    assert USCC not in msg.text and mask_uscc(USCC) in msg.text
    assert format_amount("1234567.005") == "1,234,567.01"
    assert "办理进度：已通知" in render("case_update", {"policy": "某政策", "state": "notified"}, USCC).text


def test_enqueue_twice_for_the_same_step_is_one_row(store: Engine) -> None:
    assert len(_queue(store)) == 1
    assert _queue(store) == []
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 1


def test_sms_fails_twice_then_is_delivered_once_with_growing_backoff(store: Engine, gateway: Gateway) -> None:
    (row_id,) = _queue(store)
    channels = {"sms": HttpSmsChannel(gateway.url)}
    waits = []
    clock = _later(1)
    for _ in range(2):
        report = send_due(store, clock, channels, POLICY)
        assert report.retrying == 1 and report.sent == 0
        row = _row(store, row_id)
        assert row["status"] == "pending" and "HTTP 500" in row["last_error"]
        next_at = _utc(row["next_attempt_at"])
        waits.append(next_at - clock)
        assert send_due(store, clock, channels, POLICY).sent == 0  # not due yet: nothing is sent early
        clock = next_at + dt.timedelta(seconds=1)
    assert waits[0] == dt.timedelta(seconds=60) and waits[1] == dt.timedelta(seconds=120)
    assert send_due(store, clock, channels, POLICY).sent == 1
    row = _row(store, row_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 3, None)
    assert send_due(store, _later(10_000), channels, POLICY).sent == 0  # sent rows are never picked again
    assert len(gateway.requests) == 3 and len(gateway.delivered) == 1
    assert {r["idempotency_key"] for r in gateway.requests} == {f"mianshen-outbox-{row_id}"}
    assert gateway.requests[0]["header_key"] == f"mianshen-outbox-{row_id}"
    assert gateway.delivered[0]["uscc"] == USCC and "6,000.00 元" in gateway.delivered[0]["text"]


def test_backoff_grows_and_is_capped() -> None:
    waits = [POLICY.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits[:4] == [60, 120, 240, 480]
    assert waits == sorted(waits) and max(waits) == 3600


def test_gives_up_after_max_attempts(store: Engine) -> None:
    (row_id,) = _queue(store)
    dead = {"sms": HttpSmsChannel("http://127.0.0.1:9/unreachable", timeout=0.5)}
    policy = RetryPolicy(max_attempts=2, base=dt.timedelta(seconds=1))
    send_due(store, _later(1), dead, policy)
    report = send_due(store, _later(5), dead, policy)
    row = _row(store, row_id)
    assert report.failed == 1 and (row["status"], row["attempts"]) == ("failed", 2)
    assert "短信网关不可达" in row["last_error"]


def test_gateway_4xx_is_permanent(store: Engine) -> None:
    g = Gateway(failures=99, code=400)
    try:
        (row_id,) = _queue(store)
        send_due(store, _later(1), {"sms": HttpSmsChannel(g.url)}, POLICY)
        assert _row(store, row_id)["status"] == "failed" and len(g.requests) == 1
    finally:
        g.close()


def test_crash_after_send_resends_with_the_same_key_or_gives_up(store: Engine, gateway: Gateway) -> None:
    gateway.failures = 0
    (row_id,) = _queue(store)
    # what a sender killed after the gateway accepted the message leaves behind: a claim, delivered
    channel = HttpSmsChannel(gateway.url)
    with store.begin() as conn:
        conn.execute(outbox.update().where(outbox.c.id == row_id).values(status="sending", attempts=1))
    send_due(store, _later(-3600), {"sms": channel}, POLICY)
    assert gateway.requests == []  # the lease has not run out: nobody else sends meanwhile
    report = send_due(store, _later(POLICY.lease.total_seconds() + 1), {"sms": channel}, POLICY)
    assert report.sent == 1 and _row(store, row_id)["attempts"] == 2
    assert len(gateway.delivered) == 1  # resent under the same idempotency key

    (other,) = _queue(store, step="case2:notify")
    with store.begin() as conn:
        conn.execute(outbox.update().where(outbox.c.id == other).values(status="sending", attempts=1))
    at_most_once = RetryPolicy(resend_unknown=False)
    send_due(store, _later(POLICY.lease.total_seconds() + 1), {"sms": channel}, at_most_once)
    row = _row(store, other)
    assert row["status"] == "failed" and "结果未知" in row["last_error"] and len(gateway.requests) == 1


def test_console_channel_writes_a_line(store: Engine, tmp_path: Path) -> None:
    log = tmp_path / "outbox.log"
    _queue(store, ("console",))
    report = send_due(store, _later(1), {"console": ConsoleChannel(str(log))}, POLICY)
    assert report.sent == 1
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and "小微企业流量资费减免" in lines[0] and USCC not in lines[0]


def test_without_a_gateway_sms_goes_to_the_log(tmp_path: Path) -> None:
    channels = channels_from_env(Settings(outbox_log=tmp_path / "x.log", sms_url=None))
    assert isinstance(channels["sms"], ConsoleChannel) and not channels["sms"].remote
    configured = channels_from_env(Settings(sms_url="http://127.0.0.1:1/", sms_template='{"m": "$phone"}'))
    assert isinstance(configured["sms"], HttpSmsChannel) and configured["sms"].template == '{"m": "$phone"}'


def test_portal_channel_creates_a_portal_message(store: Engine) -> None:
    (row_id,) = _queue(store, ("portal",))
    assert send_due(store, _later(1), {"portal": PortalChannel()}, POLICY).sent == 1
    assert send_due(store, _later(2), {"portal": PortalChannel()}, POLICY).sent == 0
    with store.connect() as conn:
        messages = conn.execute(select(portal_messages)).mappings().all()
    assert len(messages) == 1 and messages[0]["uscc"] == USCC and messages[0]["title"] == "政策兑现通知"
    assert _row(store, row_id)["status"] == "sent"


def test_a_bad_payload_fails_at_once_naming_the_field(store: Engine) -> None:
    with store.begin() as conn:
        (row_id,) = enqueue(conn, USCC, "s", "case_notified", {"title": "某政策"}, None, ("portal",))
    assert send_due(store, _later(1), {"portal": PortalChannel()}, POLICY).failed == 1
    row = _row(store, row_id)
    assert row["status"] == "failed" and "amount" in row["last_error"] and "deadline" in row["last_error"]


def test_sms_goes_to_the_registered_contact(store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mianshen.store.schema import enterprises
    from mianshen.web.accounts import set_contact

    monkeypatch.setenv("MIANSHEN_SM4_KEY", "00112233445566778899aabbccddeeff")
    with store.begin() as conn:
        conn.execute(enterprises.insert().values(uscc=USCC, name="甲公司", uscc_status="valid"))
        set_contact(conn, USCC, "张三", "13800138000")
    g = Gateway(failures=0)
    try:
        _queue(store)
        send_due(store, _later(1), {"sms": HttpSmsChannel(g.url)}, POLICY)
    finally:
        g.close()
    assert [d["phone"] for d in g.delivered] == ["13800138000"]  # decrypted only for the gateway
