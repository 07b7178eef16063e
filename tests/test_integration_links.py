"""SMS links: the SMS about a case carries a short link; opened signed out it signs in the enterprise
it was sent to (its code shown masked) and lands on the case; altered, expired or opened by another
enterprise it says so and reveals nothing."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, select

from mianshen.audit.log import SYSTEM
from mianshen.cases import transitions as tr
from mianshen.integration.links import token_for
from mianshen.notify.sender import send_due
from mianshen.store.schema import cases
from mianshen.web.accounts import set_contact

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .store_fixtures import store
from .test_web_console_fixtures import POLICY, csrf, make_client

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env
__all__ = ["demo", "populated", "site", "store", "web_env"]


@dataclass
class Phone:
    """An SMS channel that keeps what it was given (as the console channel would print it)."""

    remote: bool = False
    name: str = "sms"
    texts: list[str] = field(default_factory=list)

    def send(self, conn: Any, item: Any, message: Any) -> None:
        self.texts.append(message.text)


def notified(engine: Engine, n: int = 0) -> tuple[int, str]:
    with engine.begin() as conn:
        case_id, uscc = conn.execute(
            select(cases.c.id, cases.c.uscc)
            .where(cases.c.policy_id == POLICY, cases.c.state == "matched")
            .order_by(cases.c.id)
            .offset(n)
            .limit(1)
        ).one()
        tr.notify(conn, case_id, SYSTEM, dt.date(2025, 12, 31))
        set_contact(conn, uscc, "联系人", "13800138000")
    return case_id, uscc


def sms_link(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MIANSHEN_PUBLIC_URL", "https://mianshen.example.cn/")
    phone = Phone()
    send_due(engine, channels={"sms": phone, "portal": Phone(name="portal")})
    texts = [t for t in phone.texts if "政策兑现通知" in t or "可享" in t]
    assert texts, phone.texts
    found = re.search(r"https://mianshen\.example\.cn(/s/[A-Za-z0-9_-]{19})$", texts[0])
    assert found, texts[0]
    return found.group(1)


def code_of(engine: Engine, uscc: str) -> str:
    from .web_auth_fixtures import last_code

    return last_code(engine, uscc)


def test_the_sms_link_signs_in_its_enterprise_and_opens_the_case(site: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id, uscc = notified(site)
    path = sms_link(site, monkeypatch)
    client = make_client(site)
    first = client.get(path)
    assert first.status_code == 200 and uscc[:4] + "*" * 10 + uscc[-4:] in first.text and uscc not in first.text
    sent = client.post(f"{path}/code", data={"csrf_token": csrf(client)})
    assert sent.status_code == 200 and "短信验证码" in sent.text and uscc not in sent.text
    wrong = client.post(f"{path}/login", data={"code": "000000", "csrf_token": csrf(client)})
    assert wrong.status_code == 401 and "验证码" in wrong.text
    signed = client.post(f"{path}/login", data={"code": code_of(site, uscc), "csrf_token": csrf(client)})
    assert signed.status_code == 303 and signed.headers["location"] == f"/my/cases/{case_id}"
    assert "确认并签署承诺" in client.get(f"/my/cases/{case_id}").text
    again = client.get(path)  # signed in already: straight to the case
    assert again.status_code == 303 and again.headers["location"] == f"/my/cases/{case_id}"


def test_an_altered_expired_or_foreign_link_reveals_nothing(site: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id, uscc = notified(site)
    other_case, other = notified(site, 1)
    path = sms_link(site, monkeypatch)
    client = make_client(site)
    token = path.rsplit("/", 1)[1]
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    refused = client.get(f"/s/{altered}")
    assert refused.status_code == 404 and "链接无效" in refused.text and uscc[-4:] not in refused.text
    assert client.get("/s/x").status_code == 404
    old = token_for(case_id, uscc, dt.date(2020, 1, 1))
    assert client.get(f"/s/{old}").status_code == 410
    assert client.post(f"/s/{old}/code", data={"csrf_token": csrf(client)}).status_code == 410
    # another case's link, re-signed for this enterprise by someone without the key: still refused
    assert client.get(f"/s/{token_for(other_case, uscc)}").status_code == 404
    elsewhere = make_client(site)  # signed in as another enterprise
    elsewhere.get("/login")
    elsewhere.post("/login/enterprise/code", data={"uscc": other, "csrf_token": csrf(elsewhere)})
    elsewhere.post(
        "/login/enterprise", data={"uscc": other, "code": code_of(site, other), "csrf_token": csrf(elsewhere)}
    )
    foreign = elsewhere.get(path)
    assert foreign.status_code == 403 and "另一家单位" in foreign.text and uscc[-4:] not in foreign.text


def test_a_printable_notice_carries_the_same_link_as_a_qr_code(site: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from .language import leaks
    from .test_web_console_fixtures import login

    case_id, uscc = notified(site)
    path = sms_link(site, monkeypatch)
    hr = login(site, "hr")
    notice = hr.get(f"/console/cases/{case_id}/notice")
    assert notice.status_code == 200, notice.text[:300]
    assert (
        f"https://mianshen.example.cn{path}" in notice.text and "<svg" in notice.text and "扫码登录办理" in notice.text
    )
    assert uscc in notice.text and leaks(notice.text) == []
    import segno  # the drawn code is the link's (the same modules as encoding the link itself)

    drawn = segno.make(f"https://mianshen.example.cn{path}", error="m").svg_inline(scale=4)
    assert re.search(r' d="([^"]+)"', drawn).group(1) in notice.text  # type: ignore[union-attr]
    assert login(site, "kj").get(f"/console/cases/{case_id}/notice").status_code == 404  # another department
