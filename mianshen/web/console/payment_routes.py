"""Console routes for 资金拨付 (finance): approved cases awaiting payment, batches, exports, paid, reconcile."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from mianshen.cases.payments import create_batch, export_batch, mark_batch_paid, reconcile
from mianshen.store.db import reading
from mianshen.store.schema import cases, payment_batches, payments, policy_versions
from mianshen.web.console import scope
from mianshen.web.deps import actor, engine, page, require_csrf
from mianshen.web.errors import WebError, not_found
from mianshen.web.forms import keep_form

router = APIRouter()
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json", "xlsx": scope.XLSX_TYPE}


def overview(request: Request) -> dict[str, Any]:
    scope.staff(request, *scope.PAYMENT_READ)
    with reading(engine(request)) as conn:
        live = select(payments.c.id).where(payments.c.case_id == cases.c.id, payments.c.returned_at.is_(None))
        unpaid = ~live.exists()  # a 退票 whose account was corrected waits to be paid again
        waiting = conn.execute(
            select(cases.c.policy_id, func.count())
            .where(cases.c.state == "approved", unpaid)
            .group_by(cases.c.policy_id)
            .order_by(cases.c.policy_id)
        ).all()
        published = select(policy_versions.c.policy_id, policy_versions.c.title).where(
            policy_versions.c.state == "published"
        )
        titles = {str(pid): str(title) for pid, title in conn.execute(published)}
        batches = [
            dict(r) for r in conn.execute(select(payment_batches).order_by(payment_batches.c.id.desc())).mappings()
        ]
        for b in batches:
            b["count"] = conn.execute(select(func.count()).where(payments.c.batch_id == b["id"])).scalar_one()
            b["title"] = titles.get(b["policy_id"], "（已下线的政策）")
        check = reconcile(conn)
    return {
        "waiting": [{"policy_id": p, "title": titles.get(p, p), "count": n} for p, n in waiting],
        "batches": batches,
        "reconcile": check,
    }


@router.get("/console/payments", include_in_schema=False)
def payments_page(request: Request) -> Response:
    return page(request, "console_payments.html", overview(request))


@router.get("/api/console/payments", tags=["工作台"])
def payments_api(request: Request) -> Any:
    """待拨付案件（按政策）、拨付批次、对账结果。"""
    return scope.as_json(overview(request))


@router.post("/console/payments/batches", include_in_schema=False)
@router.post("/api/console/payments/batches", tags=["工作台"])
async def new_batch(request: Request) -> Any:
    """财政：为一项政策的全部已批准案件生成拨付批次（未完成的批次继续）。"""
    await require_csrf(request)
    s = scope.writer(request, "finance")
    data = await scope.params(request)
    policy_id = str(data.get("policy_id") or "").strip()
    await keep_form(request, f"batch-{policy_id}", lambda: payments_page(request))
    if not policy_id:
        raise WebError(400, "bad_request", "请选择政策")
    report = await run_in_threadpool(create_batch, engine(request), policy_id, actor(s))
    if scope.is_api(request):
        return scope.as_json(report.__dict__)
    return RedirectResponse(f"/console/payments?batch={report.batch_id}", status_code=303)


def _batch(request: Request, batch_id: int) -> None:
    with reading(engine(request)) as conn:
        if conn.execute(select(payment_batches.c.id).where(payment_batches.c.id == batch_id)).scalar() is None:
            raise not_found("拨付批次")


@router.post("/console/payments/batches/{batch_id}/export", include_in_schema=False)
@router.post("/api/console/payments/batches/{batch_id}/export", tags=["工作台"])
async def export(request: Request, batch_id: int) -> Response:
    """导出批次（format：csv、xlsx、json；reveal=1 显示完整账号，记入审计）。"""
    await require_csrf(request)
    s = scope.writer(request, "finance")
    _batch(request, batch_id)
    await keep_form(request, f"export-{batch_id}", lambda: payments_page(request))
    data = await scope.params(request)
    fmt = str(data.get("format") or "csv")
    if fmt not in FORMATS:
        raise WebError(400, "bad_request", f"不支持的导出格式“{fmt}”，可用：csv、xlsx、json")
    reveal = str(data.get("reveal", "")).lower() in ("1", "true", "on")

    def work() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"batch.{fmt}"
            with engine(request).begin() as conn:
                export_batch(conn, batch_id, fmt, path, actor(s), reveal)
            return path.read_bytes()

    body = await run_in_threadpool(work)
    return scope.download(body, f"拨付批次{batch_id}.{fmt}", FORMATS[fmt])


@router.post("/console/payments/batches/{batch_id}/paid", include_in_schema=False)
@router.post("/api/console/payments/batches/{batch_id}/paid", tags=["工作台"])
async def paid(request: Request, batch_id: int) -> Any:
    """财政：登记批次已拨付到账（每个案件转为已拨付）。"""
    await require_csrf(request)
    s = scope.writer(request, "finance")
    _batch(request, batch_id)
    await keep_form(request, f"paid-batch-{batch_id}", lambda: payments_page(request))
    done = await run_in_threadpool(mark_batch_paid, engine(request), batch_id, actor(s))
    if scope.is_api(request):
        return {"batch": batch_id, "paid": done}
    return RedirectResponse(f"/console/payments?paid={batch_id}", status_code=303)
