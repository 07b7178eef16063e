"""逾期台账 (staff and public) and 政策绩效评价: pages, JSON and XLSX over `mianshen.supervision`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mianshen.store.db import reading
from mianshen.store.schema import cases, data_requests
from mianshen.supervision import commitments as cm
from mianshen.supervision import items, ledger, report, scorecard
from mianshen.web.console import listing, scope
from mianshen.web.deps import actor, engine, page, require_csrf
from mianshen.web.errors import WebError, not_found
from mianshen.web.forms import keep_form
from mianshen.web.routes import dashboard

router = APIRouter()
LEDGER_READ = ("department", "platform_admin", "auditor")


def staff_ledger(request: Request) -> tuple[ledger.Ledger, list[dict[str, Any]]]:
    """The ledger in the session's reach (a department's own policies and region, like its queue)
    and the cases longest overdue."""
    s = scope.staff(request, *LEDGER_READ)
    if scope.own_region(s):
        listing.fill_regions(engine(request))
    with reading(engine(request)) as conn:
        mine, within = scope.visible_policy_ids(conn, s), scope.region_rows(cases.c.region, s)
        return ledger.collect(conn, mine, within), ledger.oldest(conn, mine, within)


def public_ledger(request: Request) -> ledger.Ledger:
    with reading(engine(request)) as conn:
        return ledger.collect(conn)


def _context(found: ledger.Ledger, public: bool) -> dict[str, Any]:
    return {
        "ledger": found,
        "rows": found.public() if public else found.rows,
        "stages": found.by_stage(),
        "buckets": ledger.BUCKET_LABELS,
        "commitments": cm.commitment_table(),
        "public": public,
    }


@router.get("/console/ledger", include_in_schema=False)
def ledger_page(request: Request) -> Response:
    found, cases_over = staff_ledger(request)
    return page(request, "ledger.html", _context(found, public=False) | {"oldest": cases_over})


@router.get("/api/console/ledger", tags=["监督问效"])
def ledger_api(request: Request) -> Any:
    """逾期台账：超过本环节承诺时限的案件数，按部门、政策、地区、环节与超期工作日数。"""
    found, cases_over = staff_ledger(request)
    return scope.as_json(found.as_dict() | {"oldest": cases_over})


@router.get("/overdue", include_in_schema=False)
def public_page(request: Request) -> Response:
    return page(request, "ledger.html", _context(public_ledger(request), public=True))


@router.get("/api/overdue", tags=["公开"])
def public_api(request: Request) -> Any:
    """逾期情况（公开）：按部门、政策与环节汇总，不含企业与地区。"""
    return scope.as_json(public_ledger(request).as_dict(public=True))


def _report(request: Request) -> tuple[dict[str, str], str, dict[str, Any] | None]:
    """The policies the session may evaluate, the chosen one and its evaluation (None when none chosen)."""
    s = scope.staff(request, *scope.DASHBOARD)
    chosen = request.query_params.get("policy", "").strip()
    period = request.query_params.get("period", "").strip() or None
    if scope.own_region(s):
        listing.fill_regions(engine(request))
    with reading(engine(request)) as conn:
        choices = listing.policy_titles(conn, scope.visible_policy_ids(conn, s))
        if not chosen:
            return choices, "", None
        scope.own_policy(conn, s, chosen)  # another department's policy: 404
        found = report.collect(conn, chosen, period, scope.region_rows(cases.c.region, s))
    return choices, chosen, found


@router.get("/console/performance", include_in_schema=False)
def performance_page(request: Request) -> Response:
    choices, chosen, found = _report(request)
    context: dict[str, Any] = {"choices": choices, "chosen": chosen, "report": found, "query": request.url.query}
    if found is not None:
        context |= {
            "charts": dashboard.ECHARTS.is_file(),
            "chart": {
                "labels": [label for _, label in report.COUNTS],
                "counts": [found["counts"][key] for key, _ in report.COUNTS],
                "regions": [r["region_name"] for r in found["regions"]],
                "opened": [r["opened"] for r in found["regions"]],
                "paid": [r["paid"] for r in found["regions"]],
            },
            "lines": report.lines(found),
            "region_header": report.REGION_HEADER,
            "region_rows": report.region_rows(found),
        }
    return page(request, "performance.html", context)


@router.get("/api/console/performance", tags=["监督问效"])
def performance_api(request: Request) -> Any:
    """政策绩效评价（参数 policy、period）：各环节件数、享受率、预算与金额、兑现时长、异议、分地区。"""
    _, _, found = _report(request)
    if found is None:
        raise WebError(400, "bad_request", "请指定政策", field="policy")
    return scope.as_json(found)


@router.get("/console/performance/export.xlsx", include_in_schema=False)
def performance_export(request: Request) -> Response:
    """政策绩效评价（XLSX，经唯一的表格写出模块，单元格均为文本）。"""
    _, _, found = _report(request)
    if found is None:
        raise WebError(400, "bad_request", "请指定政策", field="policy")
    rows = [list(line) for line in report.lines(found)] + [[], report.REGION_HEADER, *report.region_rows(found)]
    return scope.xlsx("政策绩效评价", ["项目", "数值"], rows)


ITEM_ROLES = ("department", "platform_admin", "auditor", "data_manager")


def _items(request: Request) -> list[dict[str, Any]]:
    s = scope.staff(request, *ITEM_ROLES)
    with reading(engine(request)) as conn:
        return items.listed(conn, s.role, s.department)


def _departments(request: Request) -> list[str]:
    """The departments an item can be handed to: those that publish policies."""
    with reading(engine(request)) as conn:
        return sorted({row.department for row in ledger.policies(conn).values()})


@router.get("/console/supervision", include_in_schema=False)
def items_page(request: Request) -> Response:
    context = {"items": _items(request), "status": items.STATUS, "departments": _departments(request)}
    return page(request, "supervision_items.html", context)


@router.post("/console/supervision/raise", include_in_schema=False)
@router.post("/api/console/supervision/raise", tags=["监督问效"])
async def item_raise(request: Request) -> Any:
    """工作专班交办督办事项（department 责任部门，summary 事项内容）。"""
    await require_csrf(request)
    s = scope.writer(request, "platform_admin")
    await keep_form(request, "raise", lambda: items_page(request), "summary")
    data = await scope.params(request)
    department, summary = str(data.get("department", "")).strip(), str(data.get("summary", ""))

    def work() -> int:
        known = set(_departments(request))
        with engine(request).begin() as conn:
            return items.raise_by_hand(conn, actor(s), department, summary, known)

    new_id = await run_in_threadpool(work)
    if scope.is_api(request):
        return {"ok": True, "id": new_id}
    return RedirectResponse("/console/supervision", status_code=303)


@router.get("/api/console/supervision", tags=["监督问效"])
def items_api(request: Request) -> Any:
    """督办事项：本角色可见的事项，未办结的在前（逾期、交办、办理中）。"""
    return scope.as_json({"items": _items(request)})


@router.post("/console/supervision/{item_id}/{action}", include_in_schema=False)
@router.post("/api/console/supervision/{item_id}/{action}", tags=["监督问效"])
async def item_action(request: Request, item_id: int, action: str) -> Any:
    """签收（accept）或办结（reply，须写 reply 办理情况）。"""
    if action not in ("accept", "reply"):
        raise not_found("页面")
    await require_csrf(request)
    s = scope.writer(request, "department", "data_manager")
    await keep_form(request, f"item-{item_id}", lambda: items_page(request), "reply")
    data = await scope.params(request)

    def work() -> None:
        with engine(request).begin() as conn:
            visible = items.load(conn, item_id)
            if not items.visible(visible, s.role, s.department):
                raise not_found("督办事项")
            if action == "accept":
                items.accept(conn, item_id, actor(s))
            else:
                items.reply(conn, item_id, actor(s), str(data.get("reply", "")))

    await run_in_threadpool(work)
    if scope.is_api(request):
        return {"ok": True}
    return RedirectResponse("/console/supervision", status_code=303)


def _scorecard(request: Request) -> dict[str, Any]:
    """Both scorecards over every department and region: a ranking compares them, so a department
    sees the whole table (aggregates only, no enterprise)."""
    scope.staff(request, *scope.DASHBOARD)
    period = request.query_params.get("period", "").strip() or None
    listing.fill_regions(engine(request))  # a region's numbers read the cases' and requests' region
    listing.fill_regions(engine(request), table=data_requests)
    with reading(engine(request)) as conn:
        return scorecard.collect(conn, period) | {"periods": scorecard.periods(conn)}


@router.get("/console/scorecard", include_in_schema=False)
def scorecard_page(request: Request) -> Response:
    found = _scorecard(request)
    tables = {kind: scorecard.table(found[kind], kind) for kind in ("departments", "regions")}
    context = {"found": found, "tables": tables, "columns": scorecard.COLUMNS, "query": request.url.query}
    return page(request, "scorecard.html", context)


@router.get("/api/console/scorecard", tags=["监督问效"])
def scorecard_api(request: Request) -> Any:
    """部门与地区评分表（参数 period）：在办、逾期、逾期率、兑现时长、享受率、数据需求答复、督办逾期，按规则排名。"""
    return scope.as_json(_scorecard(request))


@router.get("/console/scorecard/export.xlsx", include_in_schema=False)
def scorecard_export(request: Request) -> Response:
    """部门与地区评分表（XLSX，单元格均为文本），表后写明排名规则。"""
    found = _scorecard(request)
    header = [label for _, label in scorecard.COLUMNS]
    rows = [["部门"], *scorecard.table(found["departments"], "departments"), [], ["地区"]]
    rows += [*scorecard.table(found["regions"], "regions"), [], [found["rule"]]]
    return scope.xlsx("评分表", header, rows)
