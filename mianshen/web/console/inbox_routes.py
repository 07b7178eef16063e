"""数据需求 (the data departments' inbox): data requests per field, correction requests, refusals, exports.

Data managers (数据管理员) and platform administrators see every department's fields; department
staff see the fields their department holds (the catalogue's source) and answer them; auditors read.
Answering a data request is an upload of the field imported through the real path and followed by a
re-match of the enterprises it changed (a job on pages, at once on the API).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from mianshen.audit.log import Actor, record
from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.matching.runs import run_match
from mianshen.profiles import corrections, inbox
from mianshen.profiles.imports import import_file
from mianshen.profiles.sources import list_sources
from mianshen.store.db import reading
from mianshen.store.schema import corrections as correction_rows
from mianshen.store.schema import data_requests
from mianshen.web.console import listing, scope, work_jobs
from mianshen.web.deps import actor, engine, page, require_csrf
from mianshen.web.errors import WebError, not_found
from mianshen.web.forms import keep_form
from mianshen.web.portal_actions import upload_dir
from mianshen.web.sessions import Session
from mianshen.web.uploads import read_upload

router = APIRouter()
READ = ("data_manager", "platform_admin", "auditor", "department")
WRITE = ("data_manager", "platform_admin", "department")
PAGE = 50


def _department(s: Session) -> str | None:
    return s.department if s.role == "department" else None


def _requests_within(request: Request, s: Session) -> list[Any]:
    """A region-limited account (郑州 人社) sees and answers only its region's data requests."""
    if scope.own_region(s):
        listing.fill_regions(engine(request), table=data_requests)
    return scope.region_rows(data_requests.c.region, s)


def _corrections_within(request: Request, s: Session) -> list[Any]:
    if scope.own_region(s):
        listing.fill_regions(engine(request), table=correction_rows)
    return scope.region_rows(correction_rows.c.region, s)


def _held(s: Session, field: str) -> Any:
    spec = inbox.fields_of(_department(s)).get(field)
    if spec is None:
        raise not_found("数据项")
    return spec


@router.get("/console/requests", include_in_schema=False)
def inbox_page(request: Request) -> Response:
    s = scope.staff(request, *READ)
    state = request.query_params.get("corrections", "received")
    within, fixing = _requests_within(request, s), _corrections_within(request, s)
    with reading(engine(request)) as conn:
        lines = inbox.summary(conn, _department(s), within)
        fixes, fixes_total = corrections.for_department(
            conn, _department(s), state if state in corrections.STATES else "", within=fixing
        )
    shown = {"lines": lines, "fixes": fixes, "fixes_total": fixes_total, "fix_state": state}
    return page(
        request, "console_requests.html", shown | {"days": inbox.reply_days(), "fix_states": corrections.STATES}
    )


@router.get("/api/console/requests", tags=["工作台"])
def inbox_api(request: Request) -> Any:
    """数据共享需求清单：按数据项汇总等待的企业数、需要它的政策、答复期限与状态。"""
    s = scope.staff(request, *READ)
    within = _requests_within(request, s)
    with reading(engine(request)) as conn:
        lines = inbox.summary(conn, _department(s), within)
    return scope.as_json({"reply_days": inbox.reply_days(), "fields": [vars(x) for x in lines]})


@router.get("/console/requests/{field}", include_in_schema=False)
def field_page(request: Request, field: str) -> Response:
    s = scope.staff(request, *READ)
    spec = _held(s, field)
    status = request.query_params.get("status", "open")
    status = status if status in inbox.STATUS or status == "all" else "open"
    try:
        number = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        number = 1
    within = _requests_within(request, s)
    with reading(engine(request)) as conn:
        rows, total = inbox.requests_page(conn, field, "" if status == "all" else status, number, PAGE, within)
        line = next((x for x in inbox.summary(conn, _department(s), within) if x.field == field), None)
        sources = _sources(conn, field)
    shown = {"spec": spec, "rows": rows, "total": total, "status": status, "statuses": inbox.STATUS, "line": line}
    shown["sources"] = sources
    pages = max(1, -(-total // PAGE))
    return page(request, "console_request_field.html", shown | {"page": min(number, pages), "pages": pages})


@router.get("/console/requests/{field}/export.csv", include_in_schema=False)
def field_export(request: Request, field: str) -> Response:
    s = scope.staff(request, *READ)
    spec = _held(s, field)
    within = _requests_within(request, s)
    with reading(engine(request)) as conn:
        rows, _ = inbox.requests_page(conn, field, "open", 1, 0, within)
    header = ["请求编号", "统一社会信用代码", "企业名称", "数据项", "提出日期", "答复期限", "状态"]
    body = [[r["number"], r["uscc"], r["name"], spec.label, r["opened"], r["due"], r["status_label"]] for r in rows]
    return scope.csv_download(f"数据需求-{spec.label}.csv", header, body)


IMPORT_SUFFIXES = (".csv", ".xlsx", ".parquet", ".jsonl")
MAX_IMPORT = 200 * 1024 * 1024


def _sources(conn: Any, field: str) -> list[Any]:
    return [x for x in list_sources(conn) if field in x.fields]


@router.post("/console/requests/{field}/answer", include_in_schema=False)
@router.post("/api/console/requests/{field}/answer", tags=["工作台"])
async def answer(request: Request, field: str) -> Any:
    """答复数据需求：按数据源（source）导入文件（file：CSV、XLSX、Parquet、JSON Lines），随后在后台重新匹配。"""
    await require_csrf(request)
    s = scope.writer(request, *WRITE)
    spec = _held(s, field)
    await keep_form(request, "answer", lambda: field_page(request, field))
    form = await request.form()
    source_id, upload = str(form.get("source") or ""), form.get("file")

    def offered() -> set[str]:
        with reading(engine(request)) as conn:
            return {x.id for x in _sources(conn, field)}

    if source_id not in await run_in_threadpool(offered):
        raise WebError(400, "bad_request", f"请选择提供“{spec.label}”的数据源", "source")
    kinds = "CSV、XLSX、Parquet 或 JSON Lines 文件"
    name, data = await read_upload(upload, IMPORT_SUFFIXES, kinds, MAX_IMPORT, "file")
    kept = upload_dir() / "answers" / uuid.uuid4().hex / name  # errors then name the file as sent

    def keep() -> None:  # up to 200 MB: not on the event loop
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(data)

    await run_in_threadpool(keep)
    params = {"source": source_id, "path": str(kept), "name": name, "field": field, "as_of": clock_today().isoformat()}
    if not scope.is_api(request):
        # the import and the re-match after it run as a job: the page shows progress and the report
        job = await run_in_threadpool(work_jobs.start, engine(request), "import", params, actor(s))
        return RedirectResponse(f"/console/jobs/{job}", status_code=303)
    shown = await run_in_threadpool(import_and_rematch, engine(request), actor(s), params)
    if shown.get("error"):
        raise WebError(400, "bad_request", shown["error"])
    return scope.as_json(shown)


def record_upload(eng: Engine, who: Actor, field: str, name: str, report: Any) -> None:
    detail = {"field": field, "file": name, "batch": report.batch_id, "accepted": report.accepted}
    with eng.begin() as conn:
        record(conn, who, "data.request_answered", "field", field, None, detail | {"rejected": report.rejected})


def import_and_rematch(eng: Engine, who: Actor, params: dict[str, Any]) -> dict[str, Any]:
    """The job of an answer uploaded on a page: import it through the real path, then re-match the
    enterprises it changed; what the job page reports. The kept upload is removed afterwards."""
    path, day = Path(params["path"]), dt.date.fromisoformat(params["as_of"])
    try:
        report = import_file(eng, params["source"], path, day, who)
    except InputError as exc:
        return {"error": str(exc), "field": params["field"]}
    finally:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # its own folder (jobs queued before had none: kept)
            if path.parent.name != "answers":
                path.parent.rmdir()
    record_upload(eng, who, params["field"], params["name"], report)
    shown: dict[str, Any] = {"field": params["field"], "file": params["name"], "duplicate_of": report.duplicate_of}
    shown["batch"] = report.batch_id
    shown |= {"accepted": report.accepted, "rejected": report.rejected, "rejects": report.rejects[:20]}
    if report.duplicate_of is None and report.accepted:
        run = run_match(eng, day)
        shown["resolved"], shown["opened"] = run.requests_resolved, run.requests_opened
    return shown


@router.post("/console/requests/{field}/refuse", include_in_schema=False)
@router.post("/api/console/requests/{field}/refuse", tags=["工作台"])
async def refuse(request: Request, field: str) -> Any:
    """拒绝一个数据项的全部待处理请求：须写明禁止共享的法律依据（basis）与理由（reason）。"""
    await require_csrf(request)
    s = scope.writer(request, *WRITE)
    _held(s, field)
    await keep_form(request, "refuse", lambda: field_page(request, field))
    data = await scope.params(request)

    def work() -> int:
        within = _requests_within(request, s)
        with engine(request).begin() as conn:
            basis, reason = str(data.get("basis") or ""), str(data.get("reason") or "")
            return inbox.refuse(conn, field, actor(s), basis, reason, within)

    try:
        done = await run_in_threadpool(work)
    except InputError as exc:
        raise WebError(400, "bad_request", str(exc), exc.field) from exc
    if scope.is_api(request):
        return {"refused": done}
    return RedirectResponse(f"/console/requests/{field}?status=refused", status_code=303)


@router.post("/console/corrections/{correction_id}", include_in_schema=False)
@router.post("/api/console/corrections/{correction_id}", tags=["工作台"])
async def answer_correction(request: Request, correction_id: int) -> Any:
    """答复数据更正申请：result 为 corrected（已更正）或 rejected（不予更正，须写明 reply 理由）。"""
    await require_csrf(request)
    s = scope.writer(request, *WRITE)
    await keep_form(request, f"correction-{correction_id}", lambda: inbox_page(request), "reply")
    data = await scope.params(request)
    result = str(data.get("result") or "")
    if result not in ("corrected", "rejected"):
        raise WebError(400, "bad_request", "请选择“已更正”或“不予更正”")

    def work() -> dict[str, Any]:
        within = _corrections_within(request, s)
        with engine(request).begin() as conn:
            reply = str(data.get("reply") or "")
            return corrections.answer(conn, correction_id, actor(s), result == "corrected", reply, within)

    try:
        done = await run_in_threadpool(work)
    except corrections.CorrectionMissing as exc:
        raise not_found("更正申请") from exc
    except InputError as exc:
        raise WebError(400, "bad_request", str(exc), exc.field) from exc
    if scope.is_api(request):
        return scope.as_json({"number": done["number"], "state": done["state_label"]})
    return RedirectResponse("/console/requests?corrections=received#corrections", status_code=303)
