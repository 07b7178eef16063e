"""Finance at the bank's pace: a 银行代发 file with 户名、开户行、联行号, each payment marked 已到账 or
退票 (one at a time or from the bank's result file), the enterprise correcting its account, and the
same payment issued again in a later batch — each case still paid once, every yuan accounted for."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from sqlalchemy import Engine, func, select

from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.payments import create_batch, reconcile
from mianshen.store.schema import cases, outbox, payment_returns, payments

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import FINANCE, HR, POLICY, case_ids, enterprise_client, login, post

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env
BANK = ("中国工商银行郑州花园路支行", "102491002345")


def approved(engine: Engine, ids: list[int]) -> None:
    start = dt.date(2025, 9, 1)
    with engine.begin() as conn:
        for case_id in ids:
            case = tr.load_case(conn, case_id)
            tr.notify(conn, case_id, HR, start + dt.timedelta(days=30))
            who = tr.Actor("经办人", "enterprise", None, case["uscc"])
            tr.confirm(conn, case_id, who, Decimal(case["amount"]), "6222 0210 0112 3451 234", "承诺", *BANK)
            review.begin_review(conn, case_id, HR, start)
            review.open_publicity(conn, case_id, HR, start, stale_reason="测试")
            review.decide(conn, case_id, HR, start + dt.timedelta(days=30))


def state(engine: Engine, case_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar_one())


def test_transfer_file_carries_payee_bank_and_purpose(site: Engine) -> None:
    ids = case_ids(site)[:2]
    approved(site, ids)
    batch = create_batch(site, POLICY, FINANCE).batch_id
    fin = login(site, "fin")
    text = post(fin, f"/console/payments/batches/{batch}/export", {"format": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["序号", "收款人户名", "收款人账号", "收款人开户行", "开户行联行号", "金额（元）", "用途", "备注"]
    assert len(rows) == 3 and all(r[3] == BANK[0] and r[4] == BANK[1] and "扩岗" in r[6] for r in rows[1:])
    assert rows[1][7].startswith(f"案件{ids[0]} ")
    bad = enterprise_client(site, "91410102000000001X")
    assert bad.get(f"/console/payments/batches/{batch}").status_code == 403


def test_a_returned_payment_is_corrected_and_paid_again_once(site: Engine) -> None:
    first, second = case_ids(site)[:2]
    approved(site, [first, second])
    batch = create_batch(site, POLICY, FINANCE).batch_id
    fin = login(site, "fin")
    assert post(fin, f"/console/payments/batches/{batch}/cases/{first}/paid").status_code == 303
    assert state(site, first) == "paid" and state(site, second) == "in_payment"
    refused = post(fin, f"/console/payments/batches/{batch}/cases/{second}/returned", {"reason": ""})
    assert refused.status_code == 400 and "退票原因" in refused.text
    post(fin, f"/console/payments/batches/{batch}/cases/{second}/returned", {"reason": "账户已销户"})
    assert state(site, second) == "returned"
    page = fin.get(f"/console/payments/batches/{batch}").text
    assert "退票（账户已销户）" in page and "退票记录" in page
    with site.connect() as conn:
        uscc = conn.execute(select(cases.c.uscc).where(cases.c.id == second)).scalar_one()
        told = conn.execute(select(outbox.c.id).where(outbox.c.case_id == second, outbox.c.template == "case_returned"))
        assert told.first() is not None
    firm = enterprise_client(site, uscc)
    shown = firm.get(f"/my/cases/{second}").text
    assert "收款账户被银行退回" in shown and "账户已销户" in shown
    wrong = post(
        firm,
        f"/my/cases/{second}/account",
        {"bank_account": "6222 0210 9999 0000 111"} | dict(bank_name=BANK[0], bank_code="12345"),
    )
    assert wrong.status_code == 400 and "联行号" in wrong.text
    fixed = post(
        firm,
        f"/my/cases/{second}/account",
        {"bank_account": "6222 0210 9999 0000 111"} | dict(bank_name=BANK[0], bank_code=BANK[1]),
    )
    assert fixed.status_code == 303 and state(site, second) == "approved"
    again = create_batch(site, POLICY, FINANCE)
    assert again.batch_id != batch and again.count == 1
    assert post(fin, f"/console/payments/batches/{again.batch_id}/cases/{second}/paid").status_code == 303
    with site.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(payments).where(payments.c.case_id == second)).scalar() == 1
        )
        assert conn.execute(select(func.count()).select_from(payment_returns)).scalar() == 1
        check = reconcile(conn, POLICY)
        amounts = dict(conn.execute(select(cases.c.id, cases.c.amount).where(cases.c.id.in_([first, second]))).all())
    assert check["ok"], check["problems"]
    assert check["paid_total"] == sum(Decimal(a) for a in amounts.values())  # the returned yuan counted once
    assert state(site, second) == "paid"


def test_bank_result_file_marks_paid_and_returned_and_reports_the_rest(site: Engine) -> None:
    ids = case_ids(site)[:3]
    approved(site, ids)
    batch = create_batch(site, POLICY, FINANCE).batch_id
    with site.connect() as conn:
        amounts = dict(conn.execute(select(payments.c.case_id, payments.c.amount)).all())
    body = "备注,金额（元）,结果,原因\n"
    body += f"案件{ids[0]} 9141,{amounts[ids[0]]},成功,\n"
    body += f"案件{ids[1]} 9141,{amounts[ids[1]]},失败,户名不符\n"
    body += f"案件{ids[2]} 9141,1.00,成功,\n"  # wrong amount: not applied
    body += "案件99999 9141,1.00,成功,\n"
    fin = login(site, "fin")
    files = {"file": ("结果.csv", body.encode("gb18030"), "text/csv")}
    r = fin.post(f"/console/payments/batches/{batch}/results", data={"csrf_token": fin.cookies["ms_csrf"]}, files=files)
    assert r.status_code == 200
    assert "到账 1 笔，退票 1 笔" in r.text and "金额 1.00 与拨付金额" in r.text and "没有案件 99999" in r.text
    assert [state(site, i) for i in ids] == ["paid", "returned", "in_payment"]
    again = fin.post(
        f"/console/payments/batches/{batch}/results", data={"csrf_token": fin.cookies["ms_csrf"]}, files=files
    )
    assert "到账 0 笔，退票 0 笔，此前已登记 2 笔" in again.text  # applying the file twice changes nothing
    junk = fin.post(
        f"/console/payments/batches/{batch}/results",
        data={"csrf_token": fin.cookies["ms_csrf"]},
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert junk.status_code == 400 and "备注" in junk.text
