"""政策会签: versions waiting for a second staff member, with the simulation the author saw."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from mianshen.errors import InputError
from mianshen.matching import cosign
from mianshen.store.db import reading
from mianshen.web.console import scope
from mianshen.web.deps import actor, engine, page, require_csrf
from mianshen.web.errors import WebError, not_found
from mianshen.web.forms import keep_form

router = APIRouter()
DECIDERS = ("department", "platform_admin")


@router.get("/console/approvals", include_in_schema=False)
def approvals_page(request: Request) -> Response:
    s = scope.staff(request, *scope.STAFF_READ)
    with reading(engine(request)) as conn:
        rows = cosign.pending(conn, scope.department_of(s))
    return page(request, "console_approvals.html", {"rows": rows, "done": request.query_params.get("done", "")})


@router.get("/api/console/approvals", tags=["工作台"])
def approvals_api(request: Request) -> Any:
    """待会签的政策版本（本部门），附提交人看到的模拟测算。"""
    s = scope.staff(request, *scope.STAFF_READ)
    with reading(engine(request)) as conn:
        return scope.as_json({"requests": cosign.pending(conn, scope.department_of(s))})


@router.post("/console/approvals/{request_id}", include_in_schema=False)
@router.post("/api/console/approvals/{request_id}", tags=["工作台"])
async def decide(request: Request, request_id: int) -> Any:
    """会签：decision 为 approve（发布）或 reject（退回，须写 note）；提交人本人不能会签。"""
    await require_csrf(request)
    s = scope.writer(request, *DECIDERS)
    await keep_form(request, f"cosign-{request_id}", lambda: approvals_page(request), "note")
    data = await scope.params(request)
    decision = str(data.get("decision") or "")
    if decision not in ("approve", "reject"):
        raise WebError(400, "bad_request", "请选择“会签通过并发布”或“退回”")

    def work() -> Any:
        with engine(request).begin() as conn:
            found = cosign.load(conn, request_id)
            if scope.department_of(s) is not None and found["department"] != s.department:
                raise not_found("会签申请")
            return cosign.decide(conn, request_id, actor(s), decision == "approve", str(data.get("note") or ""))

    try:
        published = await run_in_threadpool(work)
    except InputError as exc:
        if "不存在" in str(exc):
            raise not_found("会签申请") from exc
        raise WebError(400, "bad_request", str(exc)) from exc
    if scope.is_api(request):
        return {"published": None if published is None else {"version": published.version}}
    return RedirectResponse(f"/console/approvals?done={decision}", status_code=303)
