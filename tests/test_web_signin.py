"""Signing in: SMS codes through the outbox, guessing and request limits, CSRF, audit events."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from mianshen.store.schema import audit_log, enterprises, outbox
from mianshen.web.accounts import add_user, set_contact
from mianshen.web.app import create_app

USCC = "91110108551385082Q"


@pytest.fixture
def client(store: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    with store.begin() as conn:
        conn.execute(enterprises.insert().values(uscc=USCC, name="甲公司", uscc_status="valid"))
        set_contact(conn, USCC, "张三", "13800138000")
        add_user(conn, "hrss", "正确的密码-123", "department", "经办人", "河南省人力资源和社会保障厅")
    app = create_app(str(store.url.render_as_string(hide_password=False)))
    with TestClient(app, base_url="https://testserver") as c:
        c.get("/login")  # receives the CSRF cookie
        yield c


def form(c: TestClient, **data: str) -> dict[str, str]:
    return {**data, "csrf_token": c.cookies.get("ms_csrf") or ""}


def last_code(store: Engine) -> str:
    with store.connect() as conn:
        payload = conn.execute(
            select(outbox.c.payload).where(outbox.c.template == "login_code").order_by(outbox.c.id.desc())
        ).first()
    assert payload is not None
    return str(json.loads(payload[0])["code"])


def test_sms_code_signs_the_enterprise_in(client: TestClient, store: Engine) -> None:
    page = client.post("/login/enterprise/code", data=form(client, uscc=USCC))
    assert page.status_code == 200 and "验证码已发送至该手机" in page.text
    assert "8000" not in page.text  # no digit of the phone before sign-in
    signed = client.post(
        "/login/enterprise", data=form(client, uscc=USCC, code=last_code(store)), follow_redirects=False
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/my"
    assert "ms_session" in signed.headers.get("set-cookie", "") and "HttpOnly" in signed.headers["set-cookie"]
    with store.connect() as conn:
        actions = [r[0] for r in conn.execute(select(audit_log.c.action))]
    assert "signin.code_sent" in actions and "signin" in actions


def test_code_guessing_is_limited(client: TestClient, store: Engine) -> None:
    client.post("/login/enterprise/code", data=form(client, uscc=USCC))
    real = last_code(store)
    wrong = "000000" if real != "000000" else "111111"
    for _ in range(5):
        assert client.post("/login/enterprise", data=form(client, uscc=USCC, code=wrong)).status_code == 401
    late = client.post("/login/enterprise", data=form(client, uscc=USCC, code=real))
    assert late.status_code == 401 and "重新获取" in late.text  # the right code no longer works after 5 misses
    with store.connect() as conn:
        failures = [r[0] for r in conn.execute(select(audit_log.c.action)) if r[0] == "signin.failed"]
    assert len(failures) == 6


def test_code_requests_are_rate_limited(client: TestClient) -> None:
    for _ in range(5):
        assert client.post("/login/enterprise/code", data=form(client, uscc=USCC)).status_code == 200
    sixth = client.post("/login/enterprise/code", data=form(client, uscc=USCC))
    assert sixth.status_code == 429 and "过于频繁" in sixth.text


def test_forms_without_csrf_are_refused(client: TestClient) -> None:
    assert client.post("/login", data={"username": "hrss", "password": "正确的密码-123"}).status_code == 403
    assert client.post("/login/enterprise/code", data={"uscc": USCC}).status_code == 403
    forged = client.post("/login", data={"username": "hrss", "password": "x", "csrf_token": "forged"})
    assert forged.status_code == 403


def test_staff_password_sign_in(client: TestClient, store: Engine) -> None:
    bad = client.post("/login", data=form(client, username="hrss", password="错误"))
    assert bad.status_code == 401 and "用户名或密码不正确" in bad.text
    good = client.post("/login", data=form(client, username="hrss", password="正确的密码-123"), follow_redirects=False)
    assert good.status_code == 303 and good.headers["location"] == "/console"
    out = client.post("/logout", data=form(client), follow_redirects=False)
    assert out.status_code == 303


def test_every_cookie_is_http_only_same_site_and_secure_over_https(store: Engine, client: TestClient) -> None:
    """The CSRF cookie of a first visit, both cookies of a sign-in and the removal at sign-out carry
    the same attributes (one helper): no script reads them, other sites' forms do not send them,
    and over HTTPS they are never sent in clear."""
    app = create_app(str(store.url.render_as_string(hide_password=False)))
    with TestClient(app, base_url="https://testserver") as fresh:
        first = fresh.get("/login").headers.get_list("set-cookie")
    signed = client.post(
        "/login", data=form(client, username="hrss", password="正确的密码-123"), follow_redirects=False
    )
    out = client.post("/logout", data=form(client), follow_redirects=False)
    cookies = first + signed.headers.get_list("set-cookie") + out.headers.get_list("set-cookie")
    names = [c.split("=", 1)[0] for c in cookies]
    assert names == ["ms_csrf", "ms_csrf", "ms_session", "ms_session"], cookies
    for cookie in cookies:
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "secure", "samesite=lax"} <= flags, cookie
    assert "max-age=0" in out.headers["set-cookie"].lower()


def test_unknown_enterprise_gets_the_same_answer(client: TestClient) -> None:
    page = client.post("/login/enterprise/code", data=form(client, uscc="91370000728611939A"))
    assert page.status_code == 200 and "如该统一社会信用代码已登记联系人手机号" in page.text


def test_json_errors_have_a_stable_code(client: TestClient) -> None:
    response = client.get("/api/policies/nope")
    assert response.status_code == 404 and response.json() == {"error": {"code": "not_found", "message": "政策不存在"}}
