"""What the bank did with each payment: paid (已拨付), or sent back (退票) — one at a time or from the
bank's result file (对账文件).

A 退票 is kept in `payment_returns` with the reason and the masked account it went to; the case
becomes 退票，待更正账户 and the enterprise is told. Once the account is corrected (by the enterprise
on the portal, or by the department after a call), the case is approved again and finance's next
batch issues the same payment again — the payment row moves to that batch, so a case is still paid
at most once. Each payment is its own transaction: a file half applied when the process dies is
applied again from the top without paying or returning anything twice.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, Engine, select

from mianshen.audit.log import Actor, record
from mianshen.cases import transitions as tr
from mianshen.cases.banking import mask_stored
from mianshen.cases.payments import require_finance
from mianshen.clock import now as platform_now
from mianshen.store.schema import cases, payment_batches, payment_returns, payments

PAID_WORDS = ("成功", "已入账", "已拨付", "交易成功")
RETURNED_WORDS = ("失败", "退票", "退回", "交易失败")


def _payment(conn: Connection, batch_id: int, case_id: int) -> dict[str, Any]:
    row = (
        conn.execute(select(payments).where(payments.c.batch_id == batch_id, payments.c.case_id == case_id))
        .mappings()
        .first()
    )
    if row is None:
        raise tr.CaseError(f"批次 {batch_id} 中没有案件 {case_id} 的拨付")
    return dict(row)


def mark_paid(conn: Connection, batch_id: int, case_id: int, actor: Actor) -> bool:
    """One payment reached the account. False when it was already recorded (paid or returned)."""
    require_finance(actor)
    pay = _payment(conn, batch_id, case_id)
    done = conn.execute(
        payments.update()
        .where(payments.c.id == pay["id"], payments.c.paid_at.is_(None), payments.c.returned_at.is_(None))
        .values(paid_at=platform_now())
    ).rowcount
    if done != 1:
        return False
    tr.mark_paid(conn, case_id, actor, batch_id, pay["amount"])
    _settle(conn, batch_id, actor)
    return True


def return_payment(conn: Connection, batch_id: int, case_id: int, actor: Actor, reason: str) -> bool:
    """The bank sent a payment back (退票), before or after it was recorded paid. False if already returned."""
    require_finance(actor)
    if len(reason.strip()) < 2:
        raise tr.CaseError("请写明退票原因（如 账户已销户、户名不符）")
    pay = _payment(conn, batch_id, case_id)
    now = platform_now()
    done = conn.execute(
        payments.update()
        .where(payments.c.id == pay["id"], payments.c.returned_at.is_(None))
        .values(returned_at=now, return_reason=reason.strip()[:200])
    ).rowcount
    if done != 1:
        return False
    account = conn.execute(select(cases.c.bank_account).where(cases.c.id == case_id)).scalar()
    conn.execute(
        payment_returns.insert().values(
            payment_id=pay["id"],
            case_id=case_id,
            batch_id=batch_id,
            amount=pay["amount"],
            reason=reason.strip()[:200],
            account=mask_stored(account) if account else None,
            actor=actor.name,
            at=now,
        )
    )
    tr.return_payment(conn, case_id, actor, batch_id, reason.strip()[:200])
    _settle(conn, batch_id, actor)
    return True


def _settle(conn: Connection, batch_id: int, actor: Actor) -> None:
    """A batch is 已拨付 once none of its payments waits for the bank's answer."""
    waiting = conn.execute(
        select(payments.c.id)
        .where(payments.c.batch_id == batch_id, payments.c.paid_at.is_(None), payments.c.returned_at.is_(None))
        .limit(1)
    ).first()
    if waiting is None:
        done = conn.execute(
            payment_batches.update()
            .where(payment_batches.c.id == batch_id, payment_batches.c.state != "paid")
            .values(state="paid")
        ).rowcount
        if done:
            record(conn, actor, "payment_batch.paid", "payment_batch", batch_id, None, {"state": "paid"})


@dataclass
class ResultReport:
    paid: int = 0
    returned: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def read_result_file(data: bytes) -> list[dict[str, str]]:
    """The bank's result file as CSV (UTF-8, with or without BOM, or GB18030 as banks often write):
    columns 备注 (or 案件编号), 金额（元）, 结果, and optionally 原因."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise tr.CaseError("对账文件不是 UTF-8 或 GB18030 编码的 CSV")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise tr.CaseError("对账文件没有数据行")
    columns = set(rows[0])
    if not ({"备注", "案件编号"} & columns) or "结果" not in columns or "金额（元）" not in columns:
        raise tr.CaseError("对账文件须有“备注”（或“案件编号”）、“金额（元）”和“结果”列")
    return rows


def _case_number(row: dict[str, str]) -> int | None:
    text = (row.get("案件编号") or row.get("备注") or "").strip().removeprefix("案件").split(" ")[0]
    return int(text) if text.isdigit() else None


def apply_results(engine: Engine, batch_id: int, rows: list[dict[str, str]], actor: Actor) -> ResultReport:
    """Apply a bank result file to a batch; every row is checked (case in the batch, amount equal)."""
    report = ResultReport()
    for line, row in enumerate(rows, start=2):
        case_id = _case_number(row)
        outcome = (row.get("结果") or "").strip()
        try:
            amount = Decimal((row.get("金额（元）") or "").replace(",", "").strip())
        except InvalidOperation:
            report.problems.append(f"第 {line} 行：金额“{row.get('金额（元）')}”不是数字")
            continue
        if case_id is None:
            report.problems.append(f"第 {line} 行：备注中没有案件编号")
            continue
        try:
            with engine.begin() as conn:
                pay = _payment(conn, batch_id, case_id)
                if Decimal(pay["amount"]) != amount:
                    report.problems.append(
                        f"第 {line} 行：案件 {case_id} 金额 {amount} 与拨付金额 {pay['amount']} 不符"
                    )
                    continue
                if outcome in PAID_WORDS:
                    changed = mark_paid(conn, batch_id, case_id, actor)
                    report.paid += changed
                elif outcome in RETURNED_WORDS:
                    reason = (row.get("原因") or "").strip() or "银行退回"
                    changed = return_payment(conn, batch_id, case_id, actor, reason)
                    report.returned += changed
                else:
                    report.problems.append(f"第 {line} 行：结果“{outcome}”无法识别（应为 成功 或 失败/退票）")
                    continue
                report.unchanged += not changed
        except tr.CaseError as exc:
            report.problems.append(f"第 {line} 行：{exc}")
    return report
