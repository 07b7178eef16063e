"""Console routes for the review queue: the list, one case with its evidence, the actions, objections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from mianshen.cases.states import STATES
from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.store.db import reading
from mianshen.store.schema import cases, enterprises, objections
from mianshen.web.console import listing, queue, scope
from mianshen.web.console.bulk_routes import BULK_BY_STATE
from mianshen.web.deps import engine, page, require_csrf
from mianshen.web.errors import WebError, not_found
from mianshen.web.forms import keep_form

router = APIRouter()


def _listing(request: Request) -> listing.Listing:
    s = scope.staff(request, *scope.STAFF_READ)
    q = listing.QueueQuery.parse(request.query_params)
    if listing.needs_regions(s, q):
        listing.fill_regions(engine(request))
    with reading(engine(request)) as conn:
        try:
            found = listing.list_page(conn, s, q)
        except InputError as exc:
            q.problems.append(str(exc))
            return listing.Listing([], 0, q, {})
        late = queue.overdue_ids(conn, found.rows, clock_today())
    found.rows = [queue.brief(r | {"title": found.policies.get(r["policy_id"], "")}, late) for r in found.rows]
    return found


@router.get("/console/cases", include_in_schema=False)
def queue_page(request: Request) -> Response:
    found = _listing(request)
    s = scope.staff(request, *scope.STAFF_READ)
    return page(
        request,
        "console_cases.html",
        {
            "found": found,
            "q": found.query,
            "rows": found.rows,
            "states": STATES,
            "sorts": listing.SORTS,
            "sizes": listing.PAGE_SIZES,
            "bulk": BULK_BY_STATE,
            "can_act": s.role == "department",
        },
    )


@router.get("/api/console/cases", tags=["工作台"])
def queue_api(request: Request) -> Any:
    """审核队列：按政策（编号或名称）、地区（代码或名称）、状态、是否逾期筛选，服务端分页，附总数。"""
    found = _listing(request)
    q = found.query
    return scope.as_json(
        {"total": found.total, "page": q.page, "pages": found.pages, "size": q.size, "problems": q.problems}
        | {"cases": found.rows}
    )


EXPORT_HEADER = [
    "案件编号",
    "政策",
    "企业名称",
    "统一社会信用代码",
    "状态",
    "金额（元）",
    "期限",
    "公示开始",
    "公示结束",
]


@router.get("/console/cases.{kind}", include_in_schema=False)
def queue_export(request: Request, kind: str) -> Response:
    """The whole filtered set (every page), as CSV (UTF-8 with BOM, opens in Excel) or XLSX."""
    if kind not in ("csv", "xlsx"):
        raise not_found("导出格式")
    s = scope.staff(request, *scope.STAFF_READ)
    q = listing.QueueQuery.parse(request.query_params)
    if listing.needs_regions(s, q):
        listing.fill_regions(engine(request))
    with reading(engine(request)) as conn:
        titles = listing.chosen_policies(conn, s, "")
        rows = [
            [
                r["id"],
                titles.get(r["policy_id"], r["policy_id"]),
                r["name"] or "",
                r["uscc"],
                STATES.get(r["state"], r["state"]),
                r["confirmed_amount"] or r["amount"] or "",
                r["deadline"] or "",
                r["publicity_from"] or "",
                r["publicity_to"] or "",
            ]
            for r in listing.every_row(conn, s, q)
        ]
    stamp = clock_today().isoformat()
    if kind == "xlsx":
        return scope.xlsx(f"案件清单-{stamp}", EXPORT_HEADER, rows)
    return scope.csv_download(f"案件清单-{stamp}.csv", EXPORT_HEADER, rows)


@router.get("/console/cases/{case_id}", include_in_schema=False)
def case_page(request: Request, case_id: int) -> Response:
    s = scope.staff(request, *scope.STAFF_READ)
    from mianshen.trust.routing import route_of

    with reading(engine(request)) as conn:
        detail = queue.case_detail(conn, s, case_id)
        detail["route"] = route_of(conn, case_id)  # 守信激励: which review route, and why
    detail["conditions"] = queue.conditions_now(engine(request), s, detail["case"]["uscc"], detail["policy"]["id"])
    return page(request, "console_case.html", {**detail, "done": request.query_params.get("done", "")})


@router.get("/api/console/cases/{case_id}", tags=["工作台"])
def case_api(request: Request, case_id: int) -> Any:
    """一个案件：证据快照（数据时效复核）、事件、现场核验、异议、拨付。"""
    s = scope.staff(request, *scope.STAFF_READ)
    with reading(engine(request)) as conn:
        return scope.as_json(queue.case_detail(conn, s, case_id))


# The one text input of each action's form: a refusal that names no input is shown beside it.
TEXT_INPUT = {"onsite": "note", "publicity": "stale_reason", "resolve": "reason", "reject": "reason"}


@router.post("/console/cases/{case_id}/{action}", include_in_schema=False)
@router.post("/api/console/cases/{case_id}/{action}", tags=["工作台"])
async def case_action(request: Request, case_id: int, action: str) -> Any:
    """办理：notify、review、onsite（passed、note、photos：照片或材料）、publicity（stale_reason）、resolve（upheld、reason）、decide、reject（reason）。"""
    await require_csrf(request)
    s = scope.writer(request, "department")
    await keep_form(request, action, lambda: case_page(request, case_id), TEXT_INPUT.get(action))
    data = await scope.params(request)
    if action == "onsite" and not scope.is_api(request):
        form = await request.form()
        data["attachments"] = await _keep_photos([u for u in form.getlist("photos") if getattr(u, "filename", "")])

    def work() -> dict[str, Any]:
        with engine(request).begin() as conn:
            return queue.act(conn, s, case_id, action, data)

    result = await run_in_threadpool(work)
    if scope.is_api(request):
        shown = {k: v for k, v in result.items() if k != "bank_account"}
        return scope.as_json({"case": shown, "state_label": STATES.get(result["state"], result["state"])})
    return RedirectResponse(f"/console/cases/{case_id}?done={action}", status_code=303)


PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".pdf", ".ofd"}
MAX_PHOTOS = 10


async def _keep_photos(uploads: list[Any]) -> list[dict[str, Any]]:
    """On-site photos and documents: type and size checked, kept by content hash under the upload folder."""
    import tempfile
    from pathlib import Path

    from mianshen.store.files import store_attachment
    from mianshen.web.portal_actions import upload_dir
    from mianshen.web.uploads import save_upload

    if len(uploads) > MAX_PHOTOS:
        raise WebError(400, "too_many_files", f"一次最多上传 {MAX_PHOTOS} 个文件", "photos")
    kept = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, upload in enumerate(uploads):
            target = await save_upload(upload, Path(tmp), PHOTO_SUFFIXES, "照片（JPG、PNG）或 PDF、OFD", i, "photos")
            kept.append(await run_in_threadpool(store_attachment, target, upload_dir()))
    return kept


@router.get("/console/cases/{case_id}/files/{sha256}", include_in_schema=False)
def case_file(request: Request, case_id: int, sha256: str) -> Response:
    """A photo or document of this case (on-site check or application), for staff who may see the case."""
    from pathlib import Path

    s = scope.staff(request, *scope.STAFF_READ)
    with reading(engine(request)) as conn:
        files = queue.case_files(conn, s, case_id)
    found = next((f for f in files if f["sha256"] == sha256), None)
    if found is None or not Path(found["path"]).is_file():
        raise not_found("文件")
    media = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".pdf": "application/pdf"}
    kind = media.get(Path(found["path"]).suffix.lower(), "application/octet-stream")
    return scope.download(Path(found["path"]).read_bytes(), found["name"], kind)


def objection_rows(request: Request) -> list[dict[str, Any]]:
    s = scope.staff(request, *scope.STAFF_READ)
    with reading(engine(request)) as conn:
        visible = scope.visible_policy_ids(conn, s)
        query = (
            select(objections, cases.c.policy_id, cases.c.uscc, cases.c.state, enterprises.c.name)
            .join(cases, cases.c.id == objections.c.case_id)
            .outerjoin(enterprises, enterprises.c.uscc == cases.c.uscc)
            .order_by(objections.c.resolved_at.is_not(None), objections.c.id.desc())
        )
        rows = [dict(r) for r in conn.execute(query).mappings() if r["policy_id"] in visible]
        reach = scope.filter_region(conn, s, [r["uscc"] for r in rows])
    stages = {"triage": "待核实（未验证手机号，公示未暂停）", "accepted": "已受理", "verified": ""}
    shown = [
        r | {"state_label": STATES.get(r["state"], r["state"]), "stage_label": stages.get(r["stage"], "")} for r in rows
    ]
    return [{k: v for k, v in r.items() if k not in ("phone", "client")} for r in shown if r["uscc"] in reach]


@router.get("/console/objections", include_in_schema=False)
def objections_page(request: Request) -> Response:
    return page(request, "console_objections.html", {"rows": objection_rows(request)})


@router.get("/api/console/objections", tags=["工作台"])
def objections_api(request: Request) -> Any:
    """异议：待处理在前；stage 为 triage 的是未验证手机号、待核实的异议（公示未暂停）。"""
    return scope.as_json({"objections": objection_rows(request)})


@router.post("/console/objections/{objection_id}/{action}", include_in_schema=False)
@router.post("/api/console/objections/{objection_id}/{action}", tags=["工作台"])
async def triage_action(request: Request, objection_id: int, action: str) -> Any:
    """待核实的异议：accept（受理，暂停公示）或 dismiss（驳回，reason 必填）。"""
    from mianshen.cases import objections as triage
    from mianshen.web.deps import actor

    await require_csrf(request)
    s = scope.writer(request, "department")
    data = await scope.params(request)
    if action not in ("accept", "dismiss"):
        raise not_found("办理操作")

    def work() -> None:
        with engine(request).begin() as conn:
            found = conn.execute(select(objections.c.case_id).where(objections.c.id == objection_id)).scalar()
            if found is None:
                raise not_found("异议")
            scope.own_case(conn, s, found)  # another department's (or region's) objection is missing
            if action == "accept":
                triage.accept_objection(conn, objection_id, actor(s))
            else:
                triage.dismiss_triaged(conn, objection_id, actor(s), str(data.get("reason", "")).strip())

    await run_in_threadpool(work)
    if scope.is_api(request):
        return {"ok": True}
    return RedirectResponse("/console/objections", status_code=303)
