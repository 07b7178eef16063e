"""The finance system's exchange by API key: instructions out, results back (成功 / 退票 with reason),
reconciliation, and an alert to the policy's department when something does not match."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from mianshen.audit.log import Actor
from mianshen.cases.payments import create_batch
from mianshen.integration import keys, subscriptions
from mianshen.integration.events import publish
from mianshen.integration.tables import integration_events, webhook_deliveries
from mianshen.store.schema import audit_log, cases, payment_batches

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .store_fixtures import store
from .test_payment_returns import approved
from .test_web_console_fixtures import FINANCE, HRSS, POLICY, case_ids, make_client

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env
__all__ = ["demo", "populated", "site", "store", "web_env"]
ACCOUNT = "6222021001123451234"  # what tests/test_payment_returns.approved confirms (digits only)


def finance_key(engine: Engine) -> str:
    with engine.begin() as conn:
        return keys.create(conn, Actor("财政", "finance"), "河南省财政厅", None, "国库集中支付系统", "finance")


def test_instructions_out_results_back_and_a_mismatch_alerts_the_department(site: Engine) -> None:
    ids = case_ids(site)[:3]
    approved(site, ids)
    with site.begin() as conn:
        sid, _ = subscriptions.create(
            conn, Actor("测试", "department", HRSS), HRSS, "http://127.0.0.1:9/", ["payment.mismatch", "payment.paid"]
        )
    batch = create_batch(site, POLICY, FINANCE).batch_id
    client = make_client(site)
    auth = {"Authorization": f"Bearer {finance_key(site)}"}
    listed = client.get("/api/finance/batches", params={"state": "open"}, headers=auth).json()["batches"]
    assert [(b["id"], b["count"]) for b in listed] == [(batch, 3)]
    sent = client.get(f"/api/finance/batches/{batch}/instructions", headers=auth).json()
    assert sent["batch"] == batch and sent["count"] == 3 and len(sent["rows"]) == 3
    assert {r["收款人账号"] for r in sent["rows"]} == {ACCOUNT} and sent["rows"][0]["备注"].startswith(f"案件{ids[0]} ")
    with site.connect() as conn:
        assert conn.execute(select(payment_batches.c.state).where(payment_batches.c.id == batch)).scalar() == "exported"
        amounts = dict(conn.execute(select(cases.c.id, cases.c.amount).where(cases.c.id.in_(ids))).all())
        reads = conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "bank_account.read")).scalars()
        assert any("国库集中支付系统" in a for a in reads)  # the full accounts were read: audited, by the key
    results = [
        {"case_id": ids[0], "amount": amounts[ids[0]], "result": "成功"},
        {"case_id": ids[1], "amount": amounts[ids[1]], "result": "退票", "reason": "账户已销户"},
        {"case_id": ids[2], "amount": "1.00", "result": "成功"},  # not what was paid
    ]
    answer = client.post(f"/api/finance/batches/{batch}/results", json={"results": results}, headers=auth)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert (got["paid"], got["returned"]) == (1, 1)
    assert got["problems"] == [f"第 4 行：案件 {ids[2]} 金额 1.00 与拨付金额 {amounts[ids[2]]} 不符"]
    assert got["reconciliation"]["paid_total"] == amounts[ids[0]]
    with site.connect() as conn:
        states = dict(conn.execute(select(cases.c.id, cases.c.state).where(cases.c.id.in_(ids))).all())
    assert [states[i] for i in ids] == ["paid", "returned", "in_payment"]
    again = client.post(f"/api/finance/batches/{batch}/results", json={"results": results[:1]}, headers=auth).json()
    assert again["paid"] == 0 and again["unchanged"] == 1  # the same result twice pays nothing twice
    publish(site)
    with site.connect() as conn:
        told = conn.execute(
            select(integration_events.c.kind, integration_events.c.payload)
            .join(webhook_deliveries, webhook_deliveries.c.event_id == integration_events.c.id)
            .where(webhook_deliveries.c.subscription_id == sid)
        ).all()
    alert = [json.loads(p) for k, p in told if k == "payment.mismatch"]
    assert alert and alert[0]["data"]["batch_id"] == batch and "不符" in alert[0]["data"]["problems"][0]
    assert [k for k, _ in told].count("payment.paid") == 1


def test_a_department_key_cannot_reach_payments_and_bad_results_are_refused(site: Engine) -> None:
    client = make_client(site)
    with site.begin() as conn:
        dept = keys.create(conn, Actor("测试", "department", HRSS), HRSS, None, "人社系统")
    refused = client.get("/api/finance/batches", headers={"Authorization": f"Bearer {dept}"})
    assert refused.status_code == 403 and "无权" in refused.json()["error"]["message"]
    auth: dict[str, Any] = {"Authorization": f"Bearer {finance_key(site)}"}
    assert client.get("/api/dept/cases", headers=auth).status_code == 403
    assert client.get("/api/finance/batches/999/instructions", headers=auth).status_code == 404
    empty = client.post("/api/finance/batches/1/results", json={"results": []}, headers=auth)
    assert empty.status_code == 400 and "results" in empty.json()["error"]["message"]
