"""Issue 16, H3/M1/M2: SMS sign-in under attack — limits per client address, per enterprise and overall,
counted atomically in the database (also with threads racing on PostgreSQL); one answer whatever
the USCC; the client address in the audit events."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from mianshen.reference.uscc import make_uscc
from mianshen.store.schema import audit_log, enterprises, outbox
from mianshen.web.accounts import set_contact
from mianshen.web.app import create_app
from mianshen.web.errors import WebError
from mianshen.web.signin import enterprise_sign_in, request_code
from mianshen.web.throttle import Rule, take

USCCS = [make_uscc("9", "1", "410100", f"{n:08d}") for n in range(1, 13)]
NO_PHONE = make_uscc("9", "1", "410100", "77777777")  # registered, no contact on file
UNKNOWN = make_uscc("9", "1", "410100", "88888888")  # not registered at all


@pytest.fixture
def site(store: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    monkeypatch.setenv("MIANSHEN_SM4_KEY", "0123456789abcdeffedcba9876543210")
    with store.begin() as conn:
        for n, uscc in enumerate(USCCS):
            conn.execute(enterprises.insert().values(uscc=uscc, name=f"企业{n}", uscc_status="valid"))
            set_contact(conn, uscc, "联系人", f"1370000{n:04d}")
        conn.execute(enterprises.insert().values(uscc=NO_PHONE, name="无手机号企业", uscc_status="valid"))
    yield store


def client_at(engine: Engine, address: str) -> TestClient:
    app = create_app(engine.url.render_as_string(hide_password=False))
    app.state.engine.dispose()
    app.state.engine = engine
    client = TestClient(app, base_url="https://testserver", client=(address, 50000))
    client.get("/login")
    return client


def ask(client: TestClient, uscc: str) -> int:
    data = {"uscc": uscc, "csrf_token": client.cookies["ms_csrf"]}
    return client.post("/login/enterprise/code", data=data).status_code


def codes_sent(engine: Engine, uscc: str | None = None) -> int:
    query = select(func.count()).select_from(outbox).where(outbox.c.template == "login_code")
    with engine.connect() as conn:
        return int(conn.execute(query.where(outbox.c.uscc == uscc) if uscc else query).scalar_one())


def last_code(engine: Engine, uscc: str) -> str:
    with engine.connect() as conn:
        payload = conn.execute(
            select(outbox.c.payload).where(outbox.c.uscc == uscc).order_by(outbox.c.id.desc()).limit(1)
        ).scalar_one()
    return str(json.loads(payload)["code"])


def test_one_client_gets_few_codes_however_many_enterprises_it_names(site: Engine) -> None:
    attacker = client_at(site, "203.0.113.7")
    answers = [ask(attacker, uscc) for uscc in USCCS[:10] for _ in range(3)]
    assert answers.count(200) == 5 and codes_sent(site) == 5  # was 23–33 before
    assert set(answers[5:]) == {429}
    assert ask(client_at(site, "198.51.100.1"), USCCS[9]) == 200  # another client is not affected


def test_one_client_cannot_lock_an_enterprise_out(site: Engine) -> None:
    target = USCCS[0]
    attacker = client_at(site, "203.0.113.7")
    assert [ask(attacker, target) for _ in range(7)].count(200) == 5
    owner = client_at(site, "198.51.100.20")
    assert ask(owner, target) == 200  # the enterprise still gets its code
    # only a second and third address together reach the enterprise's own limit (10 an hour)
    helper = client_at(site, "203.0.113.8")
    assert [ask(helper, target) for _ in range(6)].count(200) == 4
    assert codes_sent(site, target) == 10


def test_ipv6_clients_are_counted_by_network(site: Engine) -> None:
    asked = [ask(client_at(site, f"2001:db8:1:2::{n:x}"), USCCS[n]) for n in range(1, 8)]
    assert asked.count(200) == 5


def test_the_answer_does_not_tell_who_is_registered(site: Engine) -> None:
    pages = []
    for n, uscc in enumerate((USCCS[0], NO_PHONE, UNKNOWN)):
        client = client_at(site, f"192.0.2.{n + 1}")
        data = {"uscc": uscc, "csrf_token": client.cookies["ms_csrf"]}
        r = client.post("/login/enterprise/code", data=data)
        assert r.status_code == 200
        body = r.text.replace(uscc, "USCC")
        pages.append(re.sub(r'name="csrf_token" value="[^"]*"', "", body))
        assert "****" not in r.text and "未登记联系人手机号" not in r.text
    assert pages[0] == pages[1] == pages[2]


def test_wrong_codes_are_limited_per_client(site: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    with site.begin() as conn:
        for uscc in USCCS[:3]:
            request_code(conn, uscc, "10.0.0.1", now)
    answers = []
    for uscc in USCCS[:3]:
        for _ in range(4):
            with site.begin() as conn:
                result = enterprise_sign_in(conn, uscc, "999999x", "10.0.0.2", now)
            assert isinstance(result, WebError)
            answers.append(result.status)
    assert answers.count(401) == 10 and answers[10:] == [429, 429]
    right = last_code(site, USCCS[2])
    with site.begin() as conn:  # even the right code is refused to that client this hour …
        refused = enterprise_sign_in(conn, USCCS[2], right, "10.0.0.2", now)
    assert isinstance(refused, WebError) and refused.status == 429 and "一小时后" in refused.message
    with site.begin() as conn:  # … and accepted from another
        assert enterprise_sign_in(conn, USCCS[2], right, "10.0.0.3", now) == USCCS[2]


def test_wrong_codes_are_limited_per_enterprise(site: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    for n in range(25):
        with site.begin() as conn:
            result = enterprise_sign_in(conn, USCCS[0], "000000x", f"10.1.0.{n}", now)
        assert isinstance(result, WebError) and result.status == (401 if n < 20 else 429)


def test_sign_in_audit_events_name_the_client(site: Engine) -> None:
    client = client_at(site, "203.0.113.99")
    assert ask(client, USCCS[0]) == 200
    code = last_code(site, USCCS[0])
    data = {"uscc": USCCS[0], "code": code, "csrf_token": client.cookies["ms_csrf"]}
    assert client.post("/login/enterprise", data=data, follow_redirects=False).status_code == 303
    with site.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.after).where(audit_log.c.action.like("signin%")))
        events = {action: json.loads(after) for action, after in rows}
    assert events["signin.code_sent"]["client"] == "203.0.113.99"
    assert events["signin"]["client"] == "203.0.113.99"


@pytest.mark.parametrize("threads", [2, 6])
def test_counting_is_atomic_with_connections_racing(store: Engine, threads: int) -> None:
    """Each thread has its own connection and transaction (as two server instances would)."""
    rule, now, granted = Rule("race.test", 7, dt.timedelta(hours=1)), dt.datetime.now(dt.UTC), []
    start = threading.Barrier(threads)

    def attempt() -> None:
        start.wait()
        for _ in range(5):
            with store.begin() as conn:
                granted.append(take(conn, rule, "same-client", now))

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert granted.count(True) == 7 and len(granted) == threads * 5


def test_code_requests_racing_issue_no_more_than_the_limit(site: Engine) -> None:
    start, now = threading.Barrier(4), dt.datetime.now(dt.UTC)

    def attempt(uscc: str) -> None:
        start.wait()
        for _ in range(3):
            with site.begin() as conn:
                request_code(conn, uscc, "203.0.113.50", now)

    workers = [threading.Thread(target=attempt, args=(u,)) for u in USCCS[:4]]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert codes_sent(site) == 5
