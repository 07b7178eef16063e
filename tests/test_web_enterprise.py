"""The enterprise portal: benefits grouped with reasons, one-step confirm, isolation, CSRF, roles."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from mianshen.audit.log import SYSTEM
from mianshen.cases import transitions as tr
from mianshen.cases.applications import applied_amount
from mianshen.cases.transitions import CaseError
from mianshen.matching.read import pairs
from mianshen.matching.runs import run_match
from mianshen.profiles.demo_data import DemoSummary
from mianshen.store.schema import audit_log, cases, outbox
from mianshen.web.accounts import add_user, set_contact
from mianshen.web.app import create_app

from . import matching_fixtures as fx
from .matching_fixtures import AS_OF, import_demo, publish

demo = fx.demo  # the session's demo population, shared with the matching tests

ACCOUNT = "6222 0212 3456 7890 123"
HR = "河南省人力资源和社会保障厅"


@dataclass
class Portal:
    store: Engine
    client: TestClient
    uscc: str  # signed in, with a 稳岗返还 case notified
    case_id: int
    other_case: int  # another enterprise's case


def csrf(c: TestClient, **data: str) -> dict[str, str]:
    return {**data, "csrf_token": c.cookies.get("ms_csrf") or ""}


def sign_in(c: TestClient, store: Engine, uscc: str) -> None:
    c.get("/login")
    assert c.post("/login/enterprise/code", data=csrf(c, uscc=uscc)).status_code == 200
    with store.connect() as conn:
        payload = conn.execute(
            select(outbox.c.payload).where(outbox.c.template == "login_code").order_by(outbox.c.id.desc())
        ).scalar_one_or_none()
    code = json.loads(payload or "{}")["code"]
    signed = c.post("/login/enterprise", data=csrf(c, uscc=uscc, code=code), follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/my"


def setup_store(store: Engine, demo: DemoSummary) -> tuple[str, int, int]:
    import_demo(store, demo)
    publish(store)
    run_match(store, AS_OF)
    with store.begin() as conn:

        def having(status: str) -> set[str]:
            return {p.uscc for p in pairs(conn, statuses=[status])}

        wanted = having("unknown") & having("ineligible")
        mine = conn.execute(
            select(cases.c.id, cases.c.uscc).where(cases.c.policy_id == "wengang-fanhuan").order_by(cases.c.id)
        ).all()
        chosen = next(r for r in mine if r.uscc in wanted)
        other = next(r for r in mine if r.uscc != chosen.uscc)
        for r in (chosen, other):
            tr.notify(conn, r.id, SYSTEM, dt.date.today() + dt.timedelta(days=20))
        set_contact(conn, chosen.uscc, "张三", "13800138000")
        add_user(conn, "hrss", "正确的密码-123", "department", "经办人", HR)
    return chosen.uscc, chosen.id, other.id


@pytest.fixture
def portal(store: Engine, demo: DemoSummary, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Portal]:
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    monkeypatch.setenv("MIANSHEN_SM4_KEY", "0123456789abcdeffedcba9876543210")
    monkeypatch.setenv("MIANSHEN_UPLOAD_DIR", str(tmp_path / "uploads"))
    uscc, case_id, other = setup_store(store, demo)
    app = create_app(str(store.url.render_as_string(hide_password=False)))
    with TestClient(app, base_url="https://testserver") as c:
        sign_in(c, store, uscc)
        yield Portal(store, c, uscc, case_id, other)


def test_benefits_grouped_with_amounts_missing_data_and_reasons(portal: Portal) -> None:
    page = portal.client.get("/my")
    assert page.status_code == 200
    labels = ("待确认", "办理中", "已到账·已享受", "应享未享", "不符合")
    assert all(label in page.text for label in labels)
    assert [page.text.index(f"<h2>{label}</h2>") for label in labels] == sorted(
        page.text.index(f"<h2>{label}</h2>") for label in labels
    )  # what waits for the enterprise comes first
    data = portal.client.get("/api/my/benefits").json()
    by_id = {b["policy_id"]: b for b in data["benefits"]}
    wengang = by_id["wengang-fanhuan"]
    assert wengang["group"] == "confirm" and wengang["can_confirm"] and wengang["amount"]
    assert data["totals"]["waiting"] and "尚未批准" in page.text  # not counted as money received
    assert f"{float(wengang['amount']):,.2f}" in page.text
    unknown = [b for b in data["benefits"] if b["status"] == "unknown"]
    assert unknown and all(b["missing"] for b in unknown)
    assert unknown[0]["missing"][0]["department"] in page.text and unknown[0]["missing"][0]["label"] in page.text
    failed = [b for b in data["benefits"] if b["group"] == "ineligible"]
    assert failed and all(b["failed"] for b in failed)
    assert failed[0]["failed"][0] in page.text  # the failed condition, in plain Chinese
    assert "gaoqi-rending-jiangli" not in by_id  # 名单类 without a case is not shown
    with portal.store.connect() as conn:
        reads = conn.execute(select(audit_log.c.entity_id).where(audit_log.c.action == "profile.read")).all()
    assert reads and all(r[0] == portal.uscc for r in reads)


def test_policy_explanation_every_condition_with_source(portal: Portal) -> None:
    page = portal.client.get("/my/policies/wengang-fanhuan")
    assert page.status_code == 200 and "逐条说明" in page.text and "数据来源" in page.text
    detail = portal.client.get("/api/my/policies/wengang-fanhuan").json()
    assert detail["conditions"] and all(c["text"] for c in detail["conditions"])
    assert any(c["source"] and c["as_of"] for c in detail["conditions"])
    assert portal.client.get("/my/policies/no-such-policy").status_code == 404


def test_confirm_in_one_step_masks_the_account(portal: Portal) -> None:
    c = portal.client
    detail = c.get(f"/api/my/cases/{portal.case_id}").json()
    assert detail["state"] == "notified" and detail["can_confirm"]
    form = csrf(c, amount=detail["amount"], bank_account=ACCOUNT, commitment=detail["commitment"])
    done = c.post(f"/my/cases/{portal.case_id}/confirm", data=form, follow_redirects=False)
    assert done.status_code == 303
    page = c.get(done.headers["location"])
    assert "企业已确认" in page.text and "6222 **** **** 0123" in page.text
    assert "62220212" not in page.text.replace(" ", "")
    after = c.get(f"/api/my/cases/{portal.case_id}").json()
    assert after["state"] == "confirmed" and after["bank_account"] == "6222 **** **** 0123"
    assert after["time_limit"]["limit_days"] == 15 and after["time_limit"]["left"] == 15 - after["time_limit"]["used"]
    assert [e["to"] for e in after["events"]][-1] == "企业已确认"
    assert after["time_limit"]["expected"] > after["time_limit"]["started"]  # the latest day the money should arrive
    assert "预计最迟到账" in c.get(f"/my/cases/{portal.case_id}").text
    again = c.post(f"/my/cases/{portal.case_id}/confirm", data=form)
    assert again.status_code == 409  # no longer 已通知


def test_confirm_needs_the_commitment(portal: Portal) -> None:
    c = portal.client
    headers = {"X-CSRF-Token": c.cookies.get("ms_csrf") or ""}
    amount = c.get(f"/api/my/cases/{portal.case_id}").json()["amount"]
    body = {"amount": amount, "bank_account": ACCOUNT, "commitment": "随便写的"}
    refused = c.post(f"/api/my/cases/{portal.case_id}/confirm", json=body, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "commitment_required"
    assert "信用承诺" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("-5000", "大于 0"),
        ("0", "大于 0"),
        ("NaN", "应为数字"),
        ("1e30", "过大"),
        ("1500.005", "两位小数"),
        ("一千", "应为数字"),
    ],
)
def test_a_typed_amount_is_a_real_sum_of_yuan(portal: Portal, typed: str, said: str) -> None:
    """-5000, NaN and 1e30 were stored, confirmed and put in 公示 (or answered 500)."""
    c = portal.client
    headers = {"X-CSRF-Token": c.cookies.get("ms_csrf") or ""}
    detail = c.get(f"/api/my/cases/{portal.case_id}").json()
    body = {"amount": typed, "bank_account": ACCOUNT, "commitment": detail["commitment"]}
    refused = c.post(f"/api/my/cases/{portal.case_id}/confirm", json=body, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_amount"
    assert "确认金额" in refused.json()["error"]["message"] and said in refused.json()["error"]["message"]
    assert c.get(f"/api/my/cases/{portal.case_id}").json()["state"] == "notified"


def test_an_applied_amount_stays_within_the_policy_cap() -> None:
    capped = SimpleNamespace(raw={"amount": {"formula": "x * 2", "cap": 20000}})
    assert applied_amount("1,500.5", capped) == Decimal("1500.50")  # type: ignore[arg-type]
    with pytest.raises(CaseError, match="上限 20000 元"):
        applied_amount("20000.01", capped)  # type: ignore[arg-type]


def test_another_enterprises_case_is_not_found(portal: Portal) -> None:
    c = portal.client
    assert c.get(f"/my/cases/{portal.other_case}").status_code == 404
    assert c.get(f"/api/my/cases/{portal.other_case}").json()["error"]["code"] == "not_found"
    form = csrf(c, amount="1", bank_account=ACCOUNT, commitment="x")
    assert c.post(f"/my/cases/{portal.other_case}/confirm", data=form).status_code == 404
    assert c.post(f"/my/cases/{portal.other_case}/decline", data=csrf(c, reason="不要")).status_code == 404
    with portal.store.connect() as conn:
        state = conn.execute(select(cases.c.state).where(cases.c.id == portal.other_case)).scalar_one()
    assert state == "notified"


def test_posts_without_csrf_are_refused(portal: Portal) -> None:
    c = portal.client
    no_token = c.post(f"/my/cases/{portal.case_id}/decline", data={"reason": "不要"})
    assert no_token.status_code == 403
    api = c.post(f"/api/my/cases/{portal.case_id}/decline", json={"reason": "不要"})
    assert api.status_code == 403 and api.json()["error"]["code"] == "csrf"
    assert c.get(f"/api/my/cases/{portal.case_id}").json()["state"] == "notified"


def test_staff_and_signed_out_are_kept_out(portal: Portal) -> None:
    app = portal.client.app
    with TestClient(app, base_url="https://testserver") as anon:
        assert anon.get("/my", follow_redirects=False).headers["location"] == "/login?next=%2Fmy"
        assert "统一社会信用代码" in anon.get("/my").text  # the sign-in page, not an error
        assert anon.get("/api/my/benefits").json()["error"]["code"] == "unauthenticated"
        anon.get("/login")
        login = anon.post("/login", data=csrf(anon, username="hrss", password="正确的密码-123"))
        assert login.status_code in (200, 404)  # signed in (the console may not be installed)
        assert anon.get("/my").status_code == 403
        assert anon.get("/api/my/benefits").status_code == 403


def test_messages_are_own_and_can_be_marked_read(portal: Portal) -> None:
    from mianshen.store.schema import portal_messages

    now = dt.datetime.now(dt.UTC)
    with portal.store.begin() as conn:
        mine = conn.execute(
            portal_messages.insert().values(uscc=portal.uscc, title="请确认", body="请确认金额", created_at=now)
        ).inserted_primary_key[0]
        theirs = conn.execute(
            portal_messages.insert().values(uscc="91410100MA00000000", title="他人", body="x", created_at=now)
        ).inserted_primary_key[0]
    c = portal.client
    assert "请确认金额" in c.get("/my/messages").text and "他人" not in c.get("/my/messages").text
    assert c.post(f"/my/messages/{theirs}/read", data=csrf(c)).status_code == 404
    assert c.post(f"/my/messages/{mine}/read", data=csrf(c), follow_redirects=False).status_code == 303
    assert c.get("/api/my/messages").json()["messages"][0]["read_at"] is not None


def test_the_enterprise_file_shows_every_value_with_its_source_and_what_is_missing(portal: Portal) -> None:
    data = portal.client.get("/api/my/profile").json()
    held = [r for r in data["rows"] if r["value"] is not None]
    missing = [r for r in data["rows"] if r["value"] is None]
    assert held and all(r["source"] and r["as_of"] for r in held) and data["held"] == len(held)
    assert all(r["department"] for r in missing)
    page = portal.client.get("/my/profile?field=" + held[0]["field"]).text
    assert held[0]["label"] in page and "申请更正" in page and f'value="{held[0]["field"]}" selected' in page
    with portal.store.connect() as conn:
        purposes = conn.execute(select(audit_log.c.after).where(audit_log.c.action == "profile.read")).scalars().all()
    assert any("一企一档" in p for p in purposes)


def test_a_wrong_bank_code_is_shown_beside_the_form_with_the_input_kept(portal: Portal) -> None:
    c = portal.client
    detail = c.get(f"/api/my/cases/{portal.case_id}").json()
    form = csrf(c, amount=detail["amount"], bank_account=ACCOUNT, commitment=detail["commitment"])
    form |= {"bank_name": "中国工商银行郑州花园路支行", "bank_code": "12345"}
    page = c.post(f"/my/cases/{portal.case_id}/confirm", data=form, follow_redirects=False)
    assert page.status_code == 400 and "联行号应为 12 位数字" in page.text
    assert 'value="中国工商银行郑州花园路支行"' in page.text and 'value="12345"' in page.text  # typed input kept
    assert "退出" in page.text  # still signed in
    assert c.get(f"/api/my/cases/{portal.case_id}").json()["state"] == "notified"  # nothing changed
