"""The enterprise portal's actions: online application with uploads, objections, data corrections."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from mianshen.audit.log import Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.store.outbox import department_recipient
from mianshen.store.schema import applications, audit_log, cases, objections, portal_messages

from . import test_web_enterprise as base
from .test_web_enterprise import ACCOUNT, HR, Portal, csrf

demo, portal = base.demo, base.portal  # fixtures

STAFF = Actor("经办人", "department", HR)
PDF = b"%PDF-1.4 \xe8\x90\xa5\xe4\xb8\x9a\xe6\x89\xa7\xe7\x85\xa7"


def test_apply_with_uploads_opens_an_application_case(portal: Portal, tmp_path: Path) -> None:
    c = portal.client
    form = c.get("/my/apply/chuangye-kaiye-butie")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text and "所需材料" in form.text
    commitment = c.get("/api/my/policies/chuangye-kaiye-butie").json()["commitment"]
    files = [("files", ("营业执照.pdf", PDF, "application/pdf")), ("files", ("流水.png", b"\x89PNG data", "image/png"))]
    data = csrf(c, bank_account=ACCOUNT, commitment=commitment)
    done = c.post("/my/apply/chuangye-kaiye-butie", data=data, files=files, follow_redirects=False)
    assert done.status_code == 303, done.text
    case_id = int(done.headers["location"].split("/")[-1].split("?")[0])
    with portal.store.connect() as conn:
        case = conn.execute(select(cases).where(cases.c.id == case_id)).mappings().one()
        stored = json.loads(conn.execute(select(applications.c.attachments)).scalar_one())
    assert case["uscc"] == portal.uscc and case["origin"] == "application" and case["state"] == "confirmed"
    assert case["amount"] == "5000.00"
    sha = hashlib.sha256(PDF).hexdigest()
    assert {a["name"] for a in stored} == {"营业执照.pdf", "流水.png"}
    assert (tmp_path / "uploads" / sha[:2] / f"{sha}.pdf").read_bytes() == PDF
    page = c.get(done.headers["location"])
    assert "营业执照.pdf" in page.text and "60 个工作日" in page.text and "6222 **** **** 0123" in page.text
    twice = c.post("/my/apply/chuangye-kaiye-butie", data=data, files=files[:1])
    assert twice.status_code == 400 and "不能重复申请" in twice.text


def test_apply_refuses_bad_files_and_other_kinds(portal: Portal) -> None:
    c = portal.client
    headers = {"X-CSRF-Token": c.cookies.get("ms_csrf") or ""}
    exe = c.post("/api/my/apply/chuangye-kaiye-butie", files=[("files", ("a.exe", b"MZ", "x"))], headers=headers)
    assert exe.status_code == 400 and exe.json()["error"]["code"] == "bad_file_type"
    pdf = [("files", ("a.pdf", PDF, "application/pdf"))]
    wrong_kind = c.post("/api/my/apply/wengang-fanhuan", files=pdf, headers=headers)
    assert wrong_kind.status_code == 400 and "无需申请" in wrong_kind.json()["error"]["message"]
    assert c.post("/api/my/apply/chuangye-kaiye-butie", files=pdf).status_code == 403  # no CSRF header
    ok = c.post("/api/my/apply/chuangye-kaiye-butie", files=pdf, headers=headers)
    assert ok.status_code == 200 and ok.json()["state"] == "notified" and ok.json()["origin"] == "application"


def test_objection_during_publicity(portal: Portal) -> None:
    c = portal.client
    amount = c.get(f"/api/my/cases/{portal.case_id}").json()["amount"]
    with portal.store.begin() as conn:
        commitment = tr.policy_settings(conn, "wengang-fanhuan").commitment
        tr.confirm(
            conn, portal.case_id, Actor("企业", "enterprise", uscc=portal.uscc), tr.Decimal(amount), ACCOUNT, commitment
        )
        review.begin_review(conn, portal.case_id, STAFF)
        tr.start_publicity(conn, portal.case_id, STAFF, dt.date.today(), dt.date.today() + dt.timedelta(days=7))
    assert "提出异议" in c.get(f"/my/cases/{portal.case_id}").text
    short = c.post(f"/my/cases/{portal.case_id}/object", data=csrf(c, reason="不对"))
    assert short.status_code == 400
    done = c.post(f"/my/cases/{portal.case_id}/object", data=csrf(c, reason="核定人数有误，少算了 3 人"))
    assert done.status_code == 200 and "异议处理中" in done.text
    with portal.store.connect() as conn:
        assert conn.execute(select(objections.c.reason)).scalar_one() == "核定人数有误，少算了 3 人"


def test_data_correction_goes_to_the_source_department(portal: Portal) -> None:
    c = portal.client
    detail = c.get("/api/my/policies/xiaowei-liushui-lianfei").json()
    field = detail["correctable"][0]
    form = csrf(
        c, field=field["field"], value="120", reason="社保数据未计入新参保人员", policy_id="xiaowei-liushui-lianfei"
    )
    done = c.post("/my/corrections", data=form, follow_redirects=False)
    assert done.status_code == 303 and "/my/corrections?done=GZ" in done.headers["location"]
    number = done.headers["location"].split("done=")[1]
    assert f"受理编号 <strong>{number}</strong>" in c.get(done.headers["location"]).text
    with portal.store.connect() as conn:
        event = (
            conn.execute(select(audit_log).where(audit_log.c.action == "data.correction_requested")).mappings().one()
        )
        message = conn.execute(select(portal_messages)).mappings().one()
    assert event["entity_type"] == "correction" and json.loads(event["after"])["claimed"] == "120"
    assert json.loads(event["after"])["number"] == number
    assert message["uscc"] == department_recipient(field["department"]) and field["label"] in message["title"]
    headers = {"X-CSRF-Token": c.cookies.get("ms_csrf") or ""}
    bad = c.post("/api/my/corrections", json={"field": "nope", "reason": "理由写得够长"}, headers=headers)
    assert bad.status_code == 400 and "不存在" in bad.json()["error"]["message"]


def test_openapi_lists_the_portal_api(portal: Portal) -> None:
    paths = portal.client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/my/benefits",
        "/api/my/cases/{case_id}/confirm",
        "/api/my/apply/{policy_id}",
        "/api/my/corrections",
    ):
        assert path in paths
    assert not any(p.startswith("/my") for p in paths)
