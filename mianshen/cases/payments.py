"""资金拨付: payment batches per policy for finance, exports, marking paid, reconciliation.

Each case is paid at most once because `payments.case_id` is UNIQUE in the store, not because this
code remembers: a rerun after a crash, or two runs at once, cannot add a second payment. Batches
are built and marked paid in chunks, each chunk one transaction (payment row + case transition +
event + audit together), so a process killed mid-way leaves whole chunks done and none half done,
and running the same command again finishes the rest: an unfinished batch is resumed, not doubled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from mianshen.audit.log import Actor, record
from mianshen.cases import transitions as tr
from mianshen.cases.exclusive import PAYING, guard_exclusive
from mianshen.cases.review import case_amount, lock_policy
from mianshen.clock import now as platform_now
from mianshen.store.schema import cases, payment_batches, payments

CHUNK = 100
PAID_STATES = ("paid", "archived", "clawback")


@dataclass
class BatchReport:
    batch_id: int
    added: int
    count: int
    total: Decimal
    resumed: bool


def require_finance(actor: Actor) -> None:
    if actor.role != "finance":
        raise tr.NotAllowed(f"拨付批次须由财政（finance）角色办理，当前角色为“{actor.role}”")


def _batch(conn: Connection, batch_id: int) -> dict[str, Any]:
    row = conn.execute(select(payment_batches).where(payment_batches.c.id == batch_id)).mappings().first()
    if row is None:
        raise tr.CaseError(f"拨付批次 {batch_id} 不存在")
    return dict(row)


def batch_total(conn: Connection, batch_id: int) -> tuple[int, Decimal]:
    amounts = conn.execute(select(payments.c.amount).where(payments.c.batch_id == batch_id)).scalars().all()
    return len(amounts), sum((Decimal(a) for a in amounts), Decimal(0))


def _open_batch(engine: Engine, policy_id: str, actor: Actor) -> tuple[int, bool]:
    """The policy's unfinished batch (a crashed or earlier run), else a new one."""
    with engine.begin() as conn:
        lock_policy(conn, policy_id)
        found = conn.execute(
            select(payment_batches.c.id).where(
                payment_batches.c.policy_id == policy_id, payment_batches.c.state == "open"
            )
        ).scalar()
        if found is not None:
            return int(found), True
        tr.policy_settings(conn, policy_id)  # a clear error for an unknown policy
        values = {"policy_id": policy_id, "state": "open", "total": "0.00", "created_by": actor.name}
        result = conn.execute(payment_batches.insert().values(**values, created_at=platform_now()))
        batch_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        record(conn, actor, "payment_batch.create", "payment_batch", batch_id, None, values)
        return batch_id, False


def create_batch(
    engine: Engine,
    policy_id: str,
    actor: Actor,
    chunk: int = CHUNK,
    after_chunk: Callable[[int], None] | None = None,
) -> BatchReport:
    """Put every approved, unpaid case of the policy into its open batch (resuming an unfinished one)."""
    require_finance(actor)
    batch_id, resumed = _open_batch(engine, policy_id, actor)
    added = 0
    while True:
        with engine.begin() as conn:
            lock_policy(conn, policy_id)  # two runs at once take turns instead of racing
            unpaid = and_(cases.c.policy_id == policy_id, cases.c.state == "approved")
            # a payment the bank returned (退票) is issued again: its row moves to this batch
            live = select(payments.c.id).where(payments.c.case_id == cases.c.id, payments.c.returned_at.is_(None))
            query = select(cases).where(unpaid, ~live.exists()).order_by(cases.c.id).limit(chunk)
            todo = conn.execute(query).mappings().all()
            refused = 0
            for case in todo:
                if guard_exclusive(conn, dict(case), actor, PAYING):  # a case of the same matter was paid in between
                    refused += 1
                    continue
                amount = format(case_amount(dict(case)), "f")
                again = payments.update().where(payments.c.case_id == case["id"], payments.c.returned_at.is_not(None))
                moved = conn.execute(
                    again.values(batch_id=batch_id, amount=amount, paid_at=None, returned_at=None, return_reason=None)
                ).rowcount
                if not moved:
                    conn.execute(payments.insert().values(batch_id=batch_id, case_id=case["id"], amount=amount))
                tr.add_to_batch(conn, case["id"], actor, batch_id)
            count, total = batch_total(conn, batch_id)
            conn.execute(
                payment_batches.update().where(payment_batches.c.id == batch_id).values(total=format(total, "f"))
            )
        added += len(todo) - refused
        if after_chunk is not None:
            after_chunk(added)
        if len(todo) < chunk:
            break
    with engine.begin() as conn:
        record(conn, actor, "payment_batch.fill", "payment_batch", batch_id, None, {"count": count, "total": total})
    return BatchReport(batch_id, added, count, total, resumed)


def mark_batch_paid(engine: Engine, batch_id: int, actor: Actor, chunk: int = CHUNK) -> int:
    """Finance reports the transfer done: each payment gets its time once, each case becomes paid."""
    require_finance(actor)
    done = 0
    while True:
        with engine.begin() as conn:
            batch = _batch(conn, batch_id)
            rows = list(
                conn.execute(
                    select(payments)
                    .where(
                        payments.c.batch_id == batch_id, payments.c.paid_at.is_(None), payments.c.returned_at.is_(None)
                    )
                    .order_by(payments.c.id)
                    .limit(chunk)
                ).mappings()
            )
            for pay in rows:
                now = platform_now()
                stamped = conn.execute(
                    payments.update()
                    .where(payments.c.id == pay["id"], payments.c.paid_at.is_(None), payments.c.returned_at.is_(None))
                    .values(paid_at=now)
                ).rowcount
                if stamped == 1:  # the guard above makes a concurrent or repeated run a no-op
                    tr.mark_paid(conn, pay["case_id"], actor, batch_id, pay["amount"])
                    done += 1
            if len(rows) < chunk:
                conn.execute(payment_batches.update().where(payment_batches.c.id == batch_id).values(state="paid"))
                record(
                    conn,
                    actor,
                    "payment_batch.paid",
                    "payment_batch",
                    batch_id,
                    {"state": batch["state"]},
                    {"state": "paid"},
                )
                return done


def reconcile(conn: Connection, policy_id: str | None = None) -> dict[str, Any]:
    """Paid amounts against approved (confirmed) amounts, case by case; any difference is listed."""
    query = select(
        payments, cases.c.state, cases.c.confirmed_amount, cases.c.amount.label("case_amount"), cases.c.policy_id
    )
    query = query.join(cases, cases.c.id == payments.c.case_id)
    if policy_id:
        query = query.where(cases.c.policy_id == policy_id)
    problems: list[str] = []
    approved = paid = Decimal(0)
    count = 0
    for row in conn.execute(query.order_by(payments.c.id)).mappings():
        count += 1
        expected = Decimal(row["confirmed_amount"] or row["case_amount"] or "0")
        approved += expected
        if row["paid_at"] is not None and row["returned_at"] is None:
            paid += Decimal(row["amount"])
        if Decimal(row["amount"]) != expected:
            problems.append(f"案件 {row['case_id']}：拨付 {row['amount']} 元，核定 {expected} 元")
        if row["paid_at"] is not None and row["returned_at"] is None and row["state"] not in PAID_STATES:
            problems.append(f"案件 {row['case_id']}：已拨付但案件状态为 {row['state']}")
    orphan = select(cases.c.id).where(
        cases.c.state.in_(("in_payment", "paid", "archived")),
        ~select(payments.c.id).where(payments.c.case_id == cases.c.id).exists(),
    )
    if policy_id:
        orphan = orphan.where(cases.c.policy_id == policy_id)
    problems += [f"案件 {cid}：状态为拨付中或已拨付，但没有拨付记录" for cid in conn.execute(orphan).scalars()]
    twice = conn.execute(select(payments.c.case_id).group_by(payments.c.case_id).having(func.count() > 1)).scalars()
    problems += [f"案件 {cid}：拨付记录不止一条" for cid in twice]  # the unique key forbids this; checked anyway
    return {"payments": count, "approved_total": approved, "paid_total": paid, "problems": problems, "ok": not problems}


# --- 导出给财政 ------------------------------------------------------------------------------------

# The 银行代发 (batch transfer) layout banks' corporate portals take: payee name, account, bank and its
# 联行号, amount, purpose; the remark carries the case number back in the bank's result file.
HEADER = ("序号", "收款人户名", "收款人账号", "收款人开户行", "开户行联行号", "金额（元）", "用途", "备注")


def batch_rows(conn: Connection, batch_id: int, actor: Actor, reveal: bool = False) -> list[tuple[str, ...]]:
    """One row per payment; accounts masked unless finance needs them to pay (then the read is audited)."""
    from mianshen.cases.banking import decrypt_account, mask_stored
    from mianshen.store.schema import enterprises, policy_versions

    require_finance(actor)
    batch = _batch(conn, batch_id)
    purpose = conn.execute(
        select(policy_versions.c.title)
        .where(policy_versions.c.policy_id == batch["policy_id"])
        .order_by(policy_versions.c.version.desc())
        .limit(1)
    ).scalar()
    query = (
        select(
            payments.c.case_id,
            payments.c.amount,
            cases.c.uscc,
            cases.c.bank_account,
            cases.c.bank_name,
            cases.c.bank_code,
            enterprises.c.name,
        )
        .join(cases, cases.c.id == payments.c.case_id)
        .outerjoin(enterprises, enterprises.c.uscc == cases.c.uscc)
        .where(payments.c.batch_id == batch_id, payments.c.returned_at.is_(None))
        .order_by(payments.c.id)
    )
    out: list[tuple[str, ...]] = []
    for n, row in enumerate(conn.execute(query), start=1):
        stored = row.bank_account
        account = (decrypt_account(stored) if reveal else mask_stored(stored)) if stored else ""
        remark = f"案件{row.case_id} {row.uscc}"
        shown = (row.name or "", account, row.bank_name or "", row.bank_code or "", row.amount)
        out.append((str(n), *shown, (purpose or "惠企政策资金")[:30], remark))
    if reveal:
        record(
            conn, actor, "bank_account.read", "payment_batch", batch_id, None, {"accounts": len(out), "purpose": "拨付"}
        )
    return out


def export_batch(conn: Connection, batch_id: int, fmt: str, target: Any, actor: Actor, reveal: bool = False) -> int:
    """Write the batch as csv, xlsx or json to `target` (a path); returns the number of rows."""
    import json
    from pathlib import Path

    from mianshen import sheets

    rows = batch_rows(conn, batch_id, actor, reveal)
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":  # names and purposes come from outside: no cell is a formula (mianshen/sheets.py)
        sheets.save_csv(path, HEADER, rows)
    elif fmt == "xlsx":
        sheets.save_xlsx(path, f"批次{batch_id}", HEADER, rows)
    elif fmt == "json":
        count, total = batch_total(conn, batch_id)
        doc = {
            "batch": batch_id,
            "count": count,
            "total": format(total, "f"),
            "rows": [dict(zip(HEADER, r, strict=True)) for r in rows],
        }
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        raise tr.CaseError(f"不支持的导出格式“{fmt}”，可用：csv、xlsx、json")
    conn.execute(
        payment_batches.update()
        .where(payment_batches.c.id == batch_id, payment_batches.c.state == "open")
        .values(state="exported")
    )
    record(
        conn,
        actor,
        "payment_batch.export",
        "payment_batch",
        batch_id,
        None,
        {"format": fmt, "rows": len(rows), "masked": not reveal},
    )
    return len(rows)
