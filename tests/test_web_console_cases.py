"""Review queue → freshness evidence → 公示 → objections → approval; finance batches and exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from openpyxl import load_workbook
from sqlalchemy import Engine, select, update

from mianshen.audit.log import Actor
from mianshen.cases.objections import object_to
from mianshen.store.schema import cases, payments

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import POLICY, api, case_ids, confirm, login, post

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env


def state(engine: Engine, case_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar_one())


def to_publicity(engine: Engine, client: object, case_id: int) -> None:
    confirm(engine, case_id)
    assert post(client, f"/console/cases/{case_id}/review").status_code == 303  # type: ignore[arg-type]
    done = post(client, f"/console/cases/{case_id}/publicity", {"stale_reason": "数据按季更新，已电话核实"})  # type: ignore[arg-type]
    assert done.status_code == 303, done.text


def test_review_with_freshness_evidence_publicity_and_approval(site: Engine) -> None:
    hr = login(site, "hr")
    case_id = case_ids(site)[0]
    confirm(site, case_id)
    assert f'/console/cases/{case_id}"' in hr.get("/console/cases").text
    assert post(hr, f"/console/cases/{case_id}/review").status_code == 303
    page = hr.get(f"/console/cases/{case_id}")
    assert "证据快照" in page.text and "新招用符合条件的高校毕业生" in page.text and "已超时效" in page.text
    evidence = hr.get(f"/api/console/cases/{case_id}").json()["freshness"]
    assert evidence["checked"] and "qualified_youth_hires" in evidence["stale"]

    refused = api(hr, f"/api/console/cases/{case_id}/publicity")
    assert refused.status_code == 400 and "数据已超过时效" in refused.json()["error"]["message"]
    assert post(hr, f"/console/cases/{case_id}/onsite", {"passed": "1", "note": "现场核验无误"}).status_code == 303
    assert post(hr, f"/console/cases/{case_id}/publicity", {"stale_reason": "已电话核实"}).status_code == 303
    assert state(site, case_id) == "publicity"
    assert f"#{case_id}" in hr.get("/console/cases?state=publicity").text

    early = api(hr, f"/api/console/cases/{case_id}/decide")
    assert early.status_code == 400 and "公示期至" in early.json()["error"]["message"]
    with site.begin() as conn:  # the 公示 period has run out
        past = dt.date.today() - dt.timedelta(days=1)
        conn.execute(update(cases).where(cases.c.id == case_id).values(publicity_to=past, deadline=past))
    approved = api(hr, f"/api/console/cases/{case_id}/decide")
    assert approved.status_code == 200 and approved.json()["case"]["state"] == "approved"


def test_objection_is_listed_and_resolved(site: Engine) -> None:
    hr = login(site, "hr")
    case_id = case_ids(site)[1]
    to_publicity(site, hr, case_id)
    with site.begin() as conn:
        object_to(conn, case_id, Actor("市民甲", "public"), "该企业招用人员并非应届毕业生")
    listing = hr.get("/console/objections")
    assert "并非应届毕业生" in listing.text and "待处理" in listing.text
    r = post(hr, f"/console/cases/{case_id}/resolve", {"upheld": "0", "reason": "经核实身份符合"})
    assert r.status_code == 303 and state(site, case_id) == "publicity"
    assert "异议不成立" in hr.get("/console/objections").text


def test_finance_creates_a_batch_exports_and_marks_paid(site: Engine) -> None:
    hr, fin = login(site, "hr"), login(site, "fin")
    ids = case_ids(site)[:2]
    for case_id in ids:
        to_publicity(site, hr, case_id)
    with site.begin() as conn:
        conn.execute(update(cases).where(cases.c.id.in_(ids)).values(publicity_to=dt.date(2025, 1, 1)))
    for case_id in ids:
        assert api(hr, f"/api/console/cases/{case_id}/decide").json()["case"]["state"] == "approved"
    assert POLICY in fin.get("/console/payments").text
    assert post(fin, "/console/payments/batches", {"policy_id": POLICY}).status_code == 303
    batch = fin.get("/api/console/payments").json()["batches"][0]
    assert batch["count"] == 2 and {state(site, i) for i in ids} == {"in_payment"}

    url = f"/console/payments/batches/{batch['id']}/export"
    rows = list(csv.reader(io.StringIO(post(fin, url, {"format": "csv"}).content.decode("utf-8-sig"))))
    assert rows[0][0] == "序号" and len(rows) == 3 and "*" in rows[1][2]  # accounts masked
    doc = json.loads(post(fin, url, {"format": "json"}).content)
    assert doc["count"] == 2 and doc["total"] == batch["total"]
    sheet = load_workbook(io.BytesIO(post(fin, url, {"format": "xlsx"}).content)).active
    cells = [c.value for row in sheet.iter_rows() for c in row] if sheet is not None else []
    assert cells and all(v is None or isinstance(v, str) for v in cells)  # text, never a number (blank: not given)

    assert post(fin, f"/console/payments/batches/{batch['id']}/paid").status_code == 303
    assert {state(site, i) for i in ids} == {"paid"}
    with site.connect() as conn:
        assert conn.execute(select(payments.c.paid_at).where(payments.c.case_id.in_(ids))).scalars().all()
    assert fin.get("/api/console/payments").json()["reconcile"]["ok"] is True
    # department staff and auditors do not pay
    assert post(hr, "/console/payments/batches", {"policy_id": POLICY}).status_code == 403
    assert post(login(site, "aud"), url, {"format": "csv"}).status_code == 403
