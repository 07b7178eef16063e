"""The finance system's exchange (`/api/finance/…`, a finance API key): payment instructions out,
per-payment results back, reconciliation against the approved amounts, and an alert on mismatch.

Instructions are the batch's own export (cases/payments.py `export_batch`, JSON, accounts in full —
each read audited, the batch marked exported); results go through the bank result file's own path
(cases/payment_results.py `apply_results`: case in the batch, amount equal to the payment, 成功 or
退票 with its reason, each payment once). Any problem, or any difference the reconciliation finds,
is written to the audit log as `payment.mismatch`, which reaches the policy's department as an event
(integration/events.py) and is answered to the finance system in the same response.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from mianshen.audit.log import record
from mianshen.cases.payment_results import apply_results
from mianshen.cases.payments import export_batch, reconcile
from mianshen.store.db import reading
from mianshen.store.schema import payment_batches, payments
from mianshen.web.console import scope
from mianshen.web.deps import actor, engine
from mianshen.web.errors import WebError, not_found
from mianshen.web.integration.api import _caller, _domain
from mianshen.web.integration.api_docs import RESULTS

router = APIRouter(prefix="/api/finance", tags=["财政系统接口"])
MAX_RESULTS = 5000


def _batch(conn: Any, batch_id: int) -> dict[str, Any]:
    row = conn.execute(select(payment_batches).where(payment_batches.c.id == batch_id)).mappings().first()
    if row is None:
        raise not_found("拨付批次")
    return dict(row)


@router.get("/batches")
def batches(request: Request, state: str = "") -> Any:
    """拨付批次（state：open 待导出、exported 已导出待结果、paid 已全部到账），含笔数与合计。"""
    _caller(request, "读取拨付批次", {"state": state[:16]}, role="finance")
    counts = select(payments.c.batch_id, func.count().label("count")).group_by(payments.c.batch_id).subquery()
    query = select(payment_batches, func.coalesce(counts.c.count, 0).label("count")).outerjoin(
        counts, counts.c.batch_id == payment_batches.c.id
    )
    query = query.where(payment_batches.c.state == state) if state else query
    with reading(engine(request)) as conn:
        return scope.as_json(
            {"batches": [dict(r) for r in conn.execute(query.order_by(payment_batches.c.id)).mappings()]}
        )


@router.get("/batches/{batch_id}/instructions")
def instructions(request: Request, batch_id: int) -> Any:
    """拨付指令：批次的逐笔收款人、完整账号、开户行、联行号、金额、用途与备注（备注带回案件编号）。每次读取记入审计。"""
    s = _caller(request, "读取拨付指令", {"batch": batch_id}, role="finance")
    with tempfile.TemporaryDirectory() as folder, engine(request).begin() as conn:
        _batch(conn, batch_id)
        path = Path(folder) / f"批次{batch_id}.json"
        export_batch(conn, batch_id, "json", path, actor(s), reveal=True)
        return json.loads(path.read_text(encoding="utf-8"))


def _rows(body: Any) -> list[dict[str, str]]:
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not results or len(results) > MAX_RESULTS:
        raise WebError(400, "bad_request", f"请求体应含 results 列表（1–{MAX_RESULTS} 条）", "results")
    rows = []
    for item in results:
        if not isinstance(item, dict):
            raise WebError(400, "bad_request", "results 的每一条应为对象（case_id、amount、result、reason）", "results")
        rows.append(
            {
                "案件编号": str(item.get("case_id") or ""),
                "金额（元）": str(item.get("amount") or ""),
                "结果": str(item.get("result") or ""),
                "原因": str(item.get("reason") or ""),
            }
        )
    return rows


@router.post("/batches/{batch_id}/results", openapi_extra=RESULTS)
async def results(request: Request, batch_id: int) -> Any:
    """回传逐笔结果（成功，或 退票 并写原因），随后与核定金额对账；不符之处记入审计并通知政策执行部门。"""
    s = await run_in_threadpool(_caller, request, "回传拨付结果", {"batch": batch_id}, "finance")
    rows = _rows(await scope.params(request))

    def work() -> dict[str, Any]:
        with reading(engine(request)) as conn:
            batch = _batch(conn, batch_id)
        report = apply_results(engine(request), batch_id, rows, actor(s))
        with engine(request).begin() as conn:
            check = reconcile(conn, batch["policy_id"])
            problems = report.problems + check["problems"]
            if problems:  # the alert: audited, and so an event to the policy's department
                record(conn, actor(s), "payment.mismatch", "payment_batch", batch_id, None, {"problems": problems[:50]})
        shown = {"paid": report.paid, "returned": report.returned, "unchanged": report.unchanged}
        return shown | {"problems": report.problems, "reconciliation": check}

    return scope.as_json(await _domain(run_in_threadpool(work)))
