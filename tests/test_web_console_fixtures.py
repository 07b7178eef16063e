"""Shared set-up for the console, dashboard and audit tests (no tests here): a small population,
published policies, a match run, staff accounts of each role and signed-in clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from mianshen.audit.log import Actor
from mianshen.cases import transitions as tr
from mianshen.matching.runs import run_match
from mianshen.store.schema import cases
from mianshen.web.accounts import add_user
from mianshen.web.app import create_app

from .matching_fixtures import AS_OF, publish

HRSS = "河南省人力资源和社会保障厅"
KEJI = "河南省科学技术厅"
POLICY = "kuogang-buzhu"
LISTED = "gaoqi-rending-jiangli"
PASSWORD = "correct-horse-9"
USERS = {
    "hr": ("department", HRSS, None),
    "zz": ("department", HRSS, "410100"),  # 郑州 only
    "kj": ("department", KEJI, None),
    "fin": ("finance", None, None),
    "aud": ("auditor", None, None),
    "admin": ("platform_admin", None, None),
}


@pytest.fixture(autouse=True)
def web_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    monkeypatch.setenv("MIANSHEN_SM4_KEY", "0123456789abcdeffedcba9876543210")
    yield


def make_client(engine: Engine) -> TestClient:
    app = create_app(engine.url.render_as_string(hide_password=False))
    app.state.engine.dispose()
    app.state.engine = engine
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


@pytest.fixture
def staffed(store: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A store with one account per staff role, fast password hashing and a fixed SM4 key."""
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    monkeypatch.setenv("MIANSHEN_SM4_KEY", "0123456789abcdeffedcba9876543210")
    add_staff(store)
    yield store


def add_staff(engine: Engine) -> None:
    with engine.begin() as conn:
        for name, (role, dept, region) in USERS.items():
            add_user(conn, name, PASSWORD, role, f"{name}用户", department=dept, region=region)


def login(engine: Engine, username: str | None) -> TestClient:
    client = make_client(engine)
    client.get("/login")
    if username is not None:
        r = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": client.cookies["ms_csrf"]}
        )
        assert r.status_code == 303, r.text
    return client


def csrf(client: TestClient) -> str:
    return str(client.cookies["ms_csrf"])


def post(client: TestClient, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    return client.post(url, data={**(data or {}), "csrf_token": csrf(client)}, **kw)


def api(client: TestClient, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json=body or {}, headers={"X-CSRF-Token": csrf(client)})


@pytest.fixture
def site(populated: Engine) -> Engine:
    """The demo population, kuogang-buzhu (条件类, HRSS) and gaoqi (名单类, 科技厅) published, matched once."""
    publish(populated, POLICY, LISTED)
    run_match(populated, AS_OF)
    add_staff(populated)
    return populated


def case_ids(engine: Engine, policy_id: str = POLICY, state: str | None = None) -> list[int]:
    query = select(cases.c.id).where(cases.c.policy_id == policy_id).order_by(cases.c.id)
    if state:
        query = query.where(cases.c.state == state)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def confirm(engine: Engine, case_id: int) -> None:
    """The enterprise's part: notified by the department, then confirmed by the enterprise."""
    with engine.begin() as conn:
        case = tr.load_case(conn, case_id)
        if case["state"] == "matched":
            tr.notify(conn, case_id, Actor("王科长", "department", HRSS), dt.date.today() + dt.timedelta(days=30))
        who = Actor("经办人", "enterprise", None, case["uscc"])
        tr.confirm(conn, case_id, who, Decimal(case["amount"]), "6222 0210 0112 3451 234", "承诺")


HR = Actor("王科长", "department", HRSS)
FINANCE = Actor("赵会计", "finance")


def to_paid(engine: Engine, ids: list[int], start: dt.date = dt.date(2025, 9, 1)) -> None:
    """Take cases through review, 公示, approval and payment with the services (not the pages)."""
    from mianshen.cases import review
    from mianshen.cases.payments import create_batch, mark_batch_paid

    for case_id in ids:
        confirm(engine, case_id)
        with engine.begin() as conn:
            review.begin_review(conn, case_id, HR, start)
            review.open_publicity(conn, case_id, HR, start, stale_reason="测试")
            review.decide(conn, case_id, HR, start + dt.timedelta(days=30))
    report = create_batch(engine, POLICY, FINANCE)
    mark_batch_paid(engine, report.batch_id, FINANCE)


def paid_in_known_spans(engine: Engine, ids: list[int]) -> None:
    """Pay three cases, then date their opening and payment so that 兑现时长 is known: 2025-09-01 →
    09-05 is 4 working days, → 09-12 is 9, and 09-29 → 10-09 is 2 (the 国庆 holidays)."""
    from sqlalchemy import update

    from mianshen.store.schema import case_events

    to_paid(engine, ids)
    spans = [(dt.date(2025, 9, 1), dt.date(2025, 9, 5)), (dt.date(2025, 9, 1), dt.date(2025, 9, 12))]
    spans.append((dt.date(2025, 9, 29), dt.date(2025, 10, 9)))
    with engine.begin() as conn:
        for case_id, (made, done) in zip(ids, spans, strict=True):
            made_at = dt.datetime(made.year, made.month, made.day, 2, tzinfo=dt.UTC)  # 10:00 Beijing
            conn.execute(update(cases).where(cases.c.id == case_id).values(created_at=made_at))
            conn.execute(
                update(case_events)
                .where(case_events.c.case_id == case_id, case_events.c.to_state == "paid")
                .values(at=dt.datetime(done.year, done.month, done.day, 7, tzinfo=dt.UTC))
            )


def enterprise_client(engine: Engine, uscc: str) -> TestClient:
    """A signed-in enterprise (the SMS sign-in itself is tested with the portal)."""
    import hashlib
    import secrets

    from mianshen.store.schema import sessions

    token = secrets.token_urlsafe(16)
    now = dt.datetime.now(dt.UTC)
    client = make_client(engine)
    client.get("/login")
    with engine.begin() as conn:
        conn.execute(
            sessions.insert().values(
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                uscc=uscc,
                role="enterprise",
                csrf_token=client.cookies["ms_csrf"],  # the session's token, as sign-in sets it
                created_at=now,
                expires_at=now + dt.timedelta(hours=1),
            )
        )
    client.cookies.set("ms_session", token)
    return client
