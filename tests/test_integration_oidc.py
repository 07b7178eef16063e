"""Enterprise sign-in through an OpenID Connect provider started by the test on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from mianshen.store.schema import audit_log, enterprises

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .oidc_provider import Provider
from .store_fixtures import store
from .test_web_console_fixtures import make_client

demo, populated, web_env = fx.demo, fx.populated, wf.web_env
__all__ = ["demo", "populated", "store", "web_env"]


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    found = Provider()
    monkeypatch.setenv("MIANSHEN_OIDC_ISSUER", found.issuer)
    monkeypatch.setenv("MIANSHEN_OIDC_CLIENT_ID", found.client_id)
    monkeypatch.setenv("MIANSHEN_OIDC_CLIENT_SECRET", found.client_secret)
    monkeypatch.setenv("MIANSHEN_OIDC_LABEL", "河南政务服务统一身份认证")
    yield found
    found.stop()


def known_uscc(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(enterprises.c.uscc).order_by(enterprises.c.uscc).limit(1)).scalar_one())


def through_provider(client: Any, start: str = "/login/oidc") -> Any:
    """The browser's trip: to the provider and back to the platform's callback."""
    leaving = client.get(start)
    assert leaving.status_code == 303, leaving.text[:300]
    at_provider = httpx.get(leaving.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302
    back = httpx.URL(at_provider.headers["location"])
    return client.get(f"{back.path}?{back.query.decode()}")


def test_an_enterprise_signs_in_through_the_provider(populated: Engine, provider: Provider) -> None:
    provider.uscc = known_uscc(populated)
    client = make_client(populated)
    assert "使用河南政务服务统一身份认证登录" in client.get("/login").text
    done = through_provider(client, "/login/oidc?next=/my/messages")
    assert done.status_code == 303 and done.headers["location"] == "/my/messages"
    assert client.get("/my").status_code == 200
    with populated.connect() as conn:
        how = conn.execute(
            select(audit_log.c.after).where(audit_log.c.action == "signin", audit_log.c.entity_id == provider.uscc)
        ).scalar_one()
    assert '"method":"统一身份认证（OIDC）"' in how


@pytest.mark.parametrize("tamper", ["nonce", "key", "audience"])
def test_a_token_not_meant_for_this_sign_in_is_refused(populated: Engine, provider: Provider, tamper: str) -> None:
    provider.uscc, provider.tamper = known_uscc(populated), tamper
    client = make_client(populated)
    refused = through_provider(client)
    assert refused.status_code == 401 and "无法验证" in refused.text
    assert client.get("/my", follow_redirects=False).status_code in (302, 303, 401)


def test_an_unknown_enterprise_or_a_foreign_callback_is_refused(populated: Engine, provider: Provider) -> None:
    provider.uscc = "91410100MA0000000X"  # well-formed, not on the platform
    client = make_client(populated)
    unknown = through_provider(client)
    assert unknown.status_code == 403 and "尚未在本平台登记" in unknown.text
    provider.uscc = known_uscc(populated)
    leaving = client.get("/login/oidc")
    back = httpx.URL(httpx.get(leaving.headers["location"]).headers["location"])
    stranger = make_client(populated)  # the callback opened in another browser: no state cookie
    foreign = stranger.get(f"{back.path}?{back.query.decode()}")
    assert foreign.status_code == 400 and "重新登录" in foreign.text


def test_without_a_provider_there_is_no_such_sign_in(store: Engine) -> None:
    client = make_client(store)
    assert client.get("/login/oidc").status_code == 404
    assert "统一身份认证" not in client.get("/login").text
