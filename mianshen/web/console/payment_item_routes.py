"""Console routes for one payment batch: its payments, each marked 已拨付 or 退票, the bank's result
file applied, and the 退票 history (cases/payment_results.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from mianshen.cases import payment_results as results
from mianshen.cases.banking import mask_stored
from mianshen.cases.states import STATES
from mianshen.cases.transitions import CaseError
from mianshen.store.db import reading
from mianshen.store.schema import cases, enterprises, payment_batches, payment_returns, payments
from mianshen.web.console import scope
from mianshen.web.deps import actor, engine, page, require_csrf
from mianshen.web.errors import WebError, not_found
from mianshen.web.forms import keep_form

router = APIRouter()
MAX_RESULT_FILE = 20 * 1024 * 1024


def batch_detail(request: Request, batch_id: int) -> dict[str, Any]:
    scope.staff(request, *scope.PAYMENT_READ)
    with reading(engine(request)) as conn:
        batch = conn.execute(select(payment_batches).where(payment_batches.c.id == batch_id)).mappings().first()
        if batch is None:
            raise not_found("拨付批次")
        rows = conn.execute(
            select(payments, cases.c.state, cases.c.uscc, cases.c.bank_account, cases.c.bank_name, enterprises.c.name)
            .join(cases, cases.c.id == payments.c.case_id)
            .outerjoin(enterprises, enterprises.c.uscc == cases.c.uscc)
            .where(payments.c.batch_id == batch_id)
            .order_by(payments.c.id)
        ).mappings()
        items = [
            {
                "case_id": r["case_id"],
                "name": r["name"] or "",
                "uscc": r["uscc"],
                "amount": r["amount"],
                "account": mask_stored(r["bank_account"]) if r["bank_account"] else "",
                "bank": r["bank_name"] or "",
                "paid_at": r["paid_at"],
                "returned_at": r["returned_at"],
                "return_reason": r["return_reason"],
                "state_label": STATES.get(r["state"], r["state"]),
            }
            for r in rows
        ]
        returns = [
            dict(r)
            for r in conn.execute(
                select(payment_returns).where(payment_returns.c.batch_id == batch_id).order_by(payment_returns.c.id)
            ).mappings()
        ]
    missing = sum(1 for i in items if not i["bank"] and not i["returned_at"])
    return {"batch": dict(batch), "items": items, "returns": returns, "missing_bank": missing}


@router.get("/console/payments/batches/{batch_id}", include_in_schema=False)
def batch_page(request: Request, batch_id: int) -> Response:
    shown = batch_detail(request, batch_id) | {"done": request.query_params.get("done", "")}
    return page(request, "console_payment_batch.html", shown)


@router.get("/api/console/payments/batches/{batch_id}", tags=["工作台"])
def batch_api(request: Request, batch_id: int) -> Any:
    """一个拨付批次：每笔拨付（账号脱敏）、到账或退票情况、退票记录。"""
    return scope.as_json(batch_detail(request, batch_id))


@router.post("/console/payments/batches/{batch_id}/cases/{case_id}/{outcome}", include_in_schema=False)
@router.post("/api/console/payments/batches/{batch_id}/cases/{case_id}/{outcome}", tags=["工作台"])
async def one_payment(request: Request, batch_id: int, case_id: int, outcome: str) -> Any:
    """财政：一笔拨付已到账（outcome=paid）或被银行退回（outcome=returned，reason 写明原因）。"""
    await require_csrf(request)
    s = scope.writer(request, "finance")
    data = await scope.params(request)
    if outcome not in ("paid", "returned"):
        raise not_found("操作")
    form = f"return-{case_id}" if outcome == "returned" else f"paid-{case_id}"
    await keep_form(request, form, lambda: batch_page(request, batch_id), "reason" if outcome == "returned" else None)

    def work() -> bool:
        with engine(request).begin() as conn:
            if outcome == "paid":
                return results.mark_paid(conn, batch_id, case_id, actor(s))
            return results.return_payment(conn, batch_id, case_id, actor(s), str(data.get("reason") or ""))

    try:
        changed = await run_in_threadpool(work)
    except CaseError as exc:
        raise WebError(400, "bad_request", str(exc)) from exc
    if scope.is_api(request):
        return {"changed": changed}
    return RedirectResponse(f"/console/payments/batches/{batch_id}?done={outcome}", status_code=303)


@router.post("/console/payments/batches/{batch_id}/results", include_in_schema=False)
@router.post("/api/console/payments/batches/{batch_id}/results", tags=["工作台"])
async def bank_results(request: Request, batch_id: int) -> Any:
    """财政：导入银行的代发结果文件（CSV：备注、金额（元）、结果、原因），逐笔登记到账或退票。"""
    await require_csrf(request)
    s = scope.writer(request, "finance")
    await keep_form(request, "results", lambda: batch_page(request, batch_id), "file")
    form = await request.form()
    upload = form.get("file")
    if upload is None or not getattr(upload, "filename", ""):
        raise WebError(400, "bad_request", "请选择银行对账文件（CSV）")
    data = await upload.read(MAX_RESULT_FILE + 1)  # type: ignore[union-attr]
    if not data or len(data) > MAX_RESULT_FILE:
        raise WebError(400, "bad_file_size", "对账文件为空或超过 20MB")
    try:
        rows = results.read_result_file(data)
    except CaseError as exc:
        raise WebError(400, "bad_request", str(exc)) from exc
    batch_detail(request, batch_id)  # 404 for a batch that does not exist
    report = await run_in_threadpool(results.apply_results, engine(request), batch_id, rows, actor(s))
    if scope.is_api(request):
        return scope.as_json(report.__dict__)
    shown = batch_detail(request, batch_id) | {"report": report, "done": ""}
    return page(request, "console_payment_batch.html", shown)
