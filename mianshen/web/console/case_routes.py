"""Console routes for the review queue: the list, one case with its evidence, the actions, objections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from mianshen.cases.states import STATES
from mianshen.store.schema import cases, enterprises, objections
from mianshen.web.console import queue, scope
from mianshen.web.deps import engine, page, require_csrf

router = APIRouter()


def _listing(request: Request) -> tuple[list[dict[str, Any]], dict[str, str]]:
    s = scope.staff(request, *scope.STAFF_READ)
    f = {k: request.query_params.get(k, "").strip() for k in ("state", "policy")}
    with engine(request).connect() as conn:
        if f["policy"]:
            scope.own_policy(conn, s, f["policy"])
        rows = queue.list_cases(conn, s, f["state"], f["policy"])
    return rows, f


@router.get("/console/cases", include_in_schema=False)
def queue_page(request: Request) -> Response:
    rows, f = _listing(request)
    return page(request, "console_cases.html", {"rows": rows, "filters": f, "states": STATES})


@router.get("/api/console/cases", tags=["工作台"])
def queue_api(request: Request) -> Any:
    """审核队列（可按 state、policy 筛选；默认为待部门办理的状态）。"""
    rows, f = _listing(request)
    return scope.as_json({"filters": f, "cases": rows})


@router.get("/console/cases/{case_id}", include_in_schema=False)
def case_page(request: Request, case_id: int) -> Response:
    s = scope.staff(request, *scope.STAFF_READ)
    with engine(request).connect() as conn:
        detail = queue.case_detail(conn, s, case_id)
    return page(request, "console_case.html", {**detail, "done": request.query_params.get("done", "")})


@router.get("/api/console/cases/{case_id}", tags=["工作台"])
def case_api(request: Request, case_id: int) -> Any:
    """一个案件：证据快照（数据时效复核）、事件、现场核验、异议、拨付。"""
    s = scope.staff(request, *scope.STAFF_READ)
    with engine(request).connect() as conn:
        return scope.as_json(queue.case_detail(conn, s, case_id))


@router.post("/console/cases/{case_id}/{action}", include_in_schema=False)
@router.post("/api/console/cases/{case_id}/{action}", tags=["工作台"])
async def case_action(request: Request, case_id: int, action: str) -> Any:
    """办理：notify、review、onsite（passed、note）、publicity（stale_reason）、resolve（upheld、reason）、decide、reject（reason）。"""
    await require_csrf(request)
    s = scope.writer(request, "department")
    data = await scope.params(request)
    with engine(request).begin() as conn:
        result = queue.act(conn, s, case_id, action, data)
    if scope.is_api(request):
        shown = {k: v for k, v in result.items() if k != "bank_account"}
        return scope.as_json({"case": shown, "state_label": STATES.get(result["state"], result["state"])})
    return RedirectResponse(f"/console/cases/{case_id}?done={action}", status_code=303)


def objection_rows(request: Request) -> list[dict[str, Any]]:
    s = scope.staff(request, *scope.STAFF_READ)
    with engine(request).connect() as conn:
        visible = scope.visible_policy_ids(conn, s)
        query = (
            select(objections, cases.c.policy_id, cases.c.uscc, cases.c.state, enterprises.c.name)
            .join(cases, cases.c.id == objections.c.case_id)
            .outerjoin(enterprises, enterprises.c.uscc == cases.c.uscc)
            .order_by(objections.c.resolved_at.is_not(None), objections.c.id.desc())
        )
        rows = [dict(r) for r in conn.execute(query).mappings() if r["policy_id"] in visible]
        reach = scope.filter_region(conn, s, [r["uscc"] for r in rows])
    return [r | {"state_label": STATES.get(r["state"], r["state"])} for r in rows if r["uscc"] in reach]


@router.get("/console/objections", include_in_schema=False)
def objections_page(request: Request) -> Response:
    return page(request, "console_objections.html", {"rows": objection_rows(request)})


@router.get("/api/console/objections", tags=["工作台"])
def objections_api(request: Request) -> Any:
    """异议：待处理在前。"""
    return scope.as_json({"objections": objection_rows(request)})
