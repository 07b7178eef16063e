"""The scripted run: a 条件类, a 名单类 and a 暂难数据化类 policy from match / upload / application to paid.

Includes an objection upheld (→ rejected), one dismissed (→ back to 公示 → approved), a department
rejection, exports in all three formats, reconciliation, and the audit chain verifying — then
failing at exactly the row that was edited.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine, func, select, text

from mianshen.audit.log import SYSTEM, verify
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.applications import submit_application
from mianshen.cases.lists import upload_list
from mianshen.cases.objections import object_to, resolve
from mianshen.cases.payments import create_batch, export_batch, mark_batch_paid, reconcile
from mianshen.notify.templates import render
from mianshen.store.schema import (
    applications,
    audit_log,
    case_events,
    cases,
    list_rejects,
    objections,
    outbox,
    payments,
)

from .test_cases_fixtures import (
    ACCOUNT,
    AFTER_PUBLICITY,
    APPLIED,
    CONDITION,
    FINANCE,
    HR,
    KJ,
    LISTED,
    PUBLIC,
    enterprise,
    firm,
    load_data,
    match,
    publish,
    sm4_key,  # noqa: F401  (autouse)
)

START = dt.date(2025, 9, 30)  # 公示 over the 国庆 week: 5 working days end on 2025-10-14


def state(engine: Engine, case_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar_one())


def test_three_kinds_from_start_to_paid(store: Engine, tmp_path: Path) -> None:
    with store.begin() as conn:
        for policy in (CONDITION, LISTED, APPLIED):
            publish(conn, policy)
    load_data(
        store,
        tmp_path,
        {
            1: {"企业名称": "甲", "主体类型": "企业", "扩岗人数": "2"},
            2: {"企业名称": "乙", "主体类型": "企业", "扩岗人数": "1"},
        },
        dt.date(2025, 9, 15),
    )

    # 条件类: matched from the profile library, notified by the system
    with store.begin() as conn:
        a, b = match(conn, CONDITION, 1, dt.date(2025, 9, 20)), match(conn, CONDITION, 2, dt.date(2025, 9, 20))
        for case_id in (a, b):
            tr.notify(conn, case_id, SYSTEM, dt.date(2025, 10, 20))

    # 名单类: the department's list, with a reject report for its bad rows
    listing = tmp_path / "gaoqi.csv"
    listing.write_text(
        "统一社会信用代码,金额,备注\n"
        f"{firm(3)},300000,首次认定\n{firm(4)},150000.00,首次认定\n"
        "91110108551385082F,100000,校验位错\n"
        f"{firm(3)},300000,重复\n{firm(5)},十万,金额不是数字\n",
        encoding="utf-8",
    )
    with store.begin() as conn:
        report = upload_list(conn, LISTED, listing, KJ, "2025", dt.date(2025, 9, 20))
    assert len(report.case_ids) == 2
    assert sorted(r["row_number"] for r in report.rejects) == [4, 5, 6]
    c, d = report.case_ids
    with store.begin() as conn:  # uploading the same file again changes nothing
        assert upload_list(conn, LISTED, listing, KJ, "2025").duplicate_of == report.upload_id
        assert conn.execute(select(func.count()).select_from(list_rejects)).scalar_one() == 3

    # 暂难数据化类: the enterprise applies online with materials, account and signed commitment
    material = tmp_path / "营业执照.pdf"
    material.write_bytes(b"%PDF-1.4 licence")
    form = {"联系人": "张三", "bank_account": ACCOUNT, "commitment": "本人承诺材料真实"}
    with store.begin() as conn:
        e = submit_application(
            conn,
            APPLIED,
            firm(6),
            form,
            [material],
            enterprise(6),
            files_dir=tmp_path / "files",
            on=dt.date(2025, 9, 20),
        )
        stored = json.loads(conn.execute(select(applications.c.attachments)).scalar_one())
    assert Path(stored[0]["path"]).read_bytes() == b"%PDF-1.4 licence" and len(stored[0]["sha256"]) == 64
    assert state(store, e) == "confirmed"

    # enterprises confirm amount, account and the 信用承诺
    with store.begin() as conn:
        tr.confirm(conn, a, enterprise(1), Decimal("3000.00"), ACCOUNT, "承诺")
        tr.confirm(conn, b, enterprise(2), Decimal("1500.00"), ACCOUNT, "承诺")
        tr.confirm(conn, c, enterprise(3), Decimal("300000.00"), ACCOUNT, "承诺")
        tr.confirm(conn, d, enterprise(4), Decimal("150000.00"), ACCOUNT, "承诺")
        row = conn.execute(select(cases).where(cases.c.id == a)).mappings().one()
    assert row["commitment_actor"] == "企业1经办人" and row["commitment_signed_at"] is not None
    assert ACCOUNT.replace(" ", "") not in row["bank_account"]  # encrypted at rest

    # review (freshness re-check), on-site check for the application, 公示 over 国庆
    with store.begin() as conn:
        fresh = review.begin_review(conn, a, HR, dt.date(2025, 9, 29))["freshness"]
        assert fresh["stale"] == [] and {f["field"] for f in fresh["checked"]} == {
            "qualified_youth_hires",
            "subject_type",
        }
        for case_id, who in ((b, HR), (c, KJ), (d, KJ), (e, HR)):
            review.begin_review(conn, case_id, who, dt.date(2025, 9, 29))
        review.record_onsite(conn, e, HR, passed=True, note="经营场所与执照一致")
        for case_id, who in ((a, HR), (b, HR), (c, KJ), (d, KJ), (e, HR)):
            assert review.open_publicity(conn, case_id, who, START)["publicity_to"] == dt.date(2025, 10, 14)

    # objections: upheld for b (→ rejected), dismissed for a (→ 公示 again); d rejected by the department
    with store.begin() as conn:
        object_to(conn, b, PUBLIC, "该员工实为股东亲属，未实际到岗")
        object_to(conn, a, PUBLIC, "招用人数有误")
        resolve(conn, b, HR, upheld=True, reason="核实未实际到岗")
        resolve(conn, a, HR, upheld=False, reason="经核对参保记录，人数无误")
        tr.reject(conn, d, KJ, "复核发现非首次认定")
        assert {r.resolution for r in conn.execute(select(objections.c.resolution))} == {"upheld", "dismissed"}
    assert (state(store, a), state(store, b), state(store, d)) == ("publicity", "rejected", "rejected")

    with store.begin() as conn:
        for case_id, who in ((a, HR), (c, KJ), (e, HR)):
            assert review.decide(conn, case_id, who, AFTER_PUBLICITY)["state"] == "approved"

    # payments: one batch per policy, exported, marked paid, reconciled
    for policy, case_id in ((CONDITION, a), (LISTED, c), (APPLIED, e)):
        batch = create_batch(store, policy, FINANCE)
        assert batch.count == 1
        with store.begin() as conn:
            for fmt in ("csv", "xlsx", "json"):
                export_batch(conn, batch.batch_id, fmt, tmp_path / f"b{batch.batch_id}.{fmt}", FINANCE)
        assert mark_batch_paid(store, batch.batch_id, FINANCE) == 1
        assert state(store, case_id) == "paid"
    sheet = load_workbook(tmp_path / "b2.xlsx").worksheets[0]
    assert [c.value for c in next(sheet.iter_rows(min_row=2))][5] == "300000.00"  # exact text, not a float
    assert "6222 **** **** 1234" in (tmp_path / "b2.csv").read_text(encoding="utf-8-sig")
    assert json.loads((tmp_path / "b3.json").read_text(encoding="utf-8"))["total"] == "5000.00"

    with store.begin() as conn:
        recon = reconcile(conn)
        assert recon["ok"] and recon["paid_total"] == Decimal("308000.00")
        assert conn.execute(select(func.count()).select_from(payments)).scalar_one() == 3
        steps = {s for s in conn.execute(select(outbox.c.step)).scalars()}
        for message in conn.execute(select(outbox)).mappings():  # every message renders with its template
            assert render(message["template"], json.loads(message["payload"]), message["uscc"]).text
        assert {
            f"case{a}:notify",
            f"case{a}:start_publicity",
            f"case{a}:approve",
            f"case{a}:mark_paid",
            f"case{b}:uphold_objection",
        } <= steps
        events = conn.execute(
            select(func.count()).select_from(case_events).where(case_events.c.case_id == a)
        ).scalar_one()
        assert events == 10  # matched, notified, confirmed, review, 公示, objection, 公示, approved, in payment, paid
        check = verify(conn)
        assert check.first_broken is None and check.rows > 40

    with store.begin() as conn:  # edit one audit row: verify names exactly that row
        target = conn.execute(select(audit_log.c.id).where(audit_log.c.action == "case.approve").limit(1)).scalar_one()
        conn.execute(text("UPDATE audit_log SET actor = '他人' WHERE id = :i"), {"i": target})
        assert verify(conn).first_broken == target
