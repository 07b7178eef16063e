"""The inbound API for department systems (`/api/dept/…`), authenticated by a department API key.

Every call: the key is checked (`Authorization: Bearer msk_….…`), one attempt is taken from the
key's per-minute allowance in the database (web/throttle.py — atomic, so several server instances
share it), and the call is written to the audit log — all in one transaction. The key stands for
a department staff session of its department and region, so every read and write goes through the
same reach checks as the console (web/console/scope.py): another department's policy or case, or
a field the department does not hold, is 404.

Pushed rows are written to a JSON Lines file and taken through the file import itself
(profiles/imports.py, cases/lists.py): the same validation, the same reject report.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from mianshen.audit.log import record
from mianshen.cases.lists import upload_list
from mianshen.clock import real_now
from mianshen.clock import today as clock_today
from mianshen.errors import MianshenError
from mianshen.integration import keys, settings
from mianshen.profiles import inbox
from mianshen.profiles.imports import import_file
from mianshen.profiles.sources import list_sources
from mianshen.store.db import reading
from mianshen.store.schema import case_events, cases, data_requests
from mianshen.web import throttle
from mianshen.web.console import listing, scope
from mianshen.web.console.inbox_routes import import_and_rematch
from mianshen.web.deps import actor, engine, session
from mianshen.web.errors import WebError, not_found
from mianshen.web.integration.api_docs import ANSWER, CASES, LIST, OBSERVATIONS
from mianshen.web.sessions import Session

router = APIRouter(prefix="/api/dept", tags=["部门系统接口"])
MAX_ROWS = 5000  # rows per push (and the 1 MB body limit): larger sets go in several pushes
PAGE = 200


def _caller(request: Request, what: str, detail: dict[str, Any] | None = None, role: str = "department") -> Session:
    """The key's department as a console session of `role`; 401 without a valid key, 403 for a key of
    another kind (a finance key on a department route and the reverse), 429 over the allowance."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        if session(request) is not None:  # a signed-in person: this API is for systems, not sessions
            raise WebError(403, "forbidden", "部门系统接口只接受接口密钥（请求头 Authorization: Bearer 接口密钥）")
        raise WebError(401, "unauthenticated", "缺少接口密钥（请求头 Authorization: Bearer 接口密钥）")
    now = real_now()
    with engine(request).begin() as conn:
        holder = keys.authenticate(conn, header[7:])
        if holder is None:
            raise WebError(401, "unauthenticated", "接口密钥无效或已吊销")
        if holder.role != role:
            raise WebError(403, "forbidden", "此接口密钥无权调用该接口（部门系统与财政系统的密钥各用其接口）")
        rule = throttle.Rule("api.key", settings.api_rate_per_minute(), dt.timedelta(minutes=1))
        if not throttle.take(conn, rule, holder.key_id, now):
            if throttle.first_refusal(conn, (rule, holder.key_id), now):
                record(conn, holder.actor(), "api.limited", "api_key", holder.key_id, None, {"call": what})
            refused = WebError(429, "too_many_requests", "调用过于频繁，请一分钟后再试")
        else:
            refused = None
            keys.touch(conn, holder.key_id)
            record(conn, holder.actor(), "api.call", "api_key", holder.key_id, None, {"call": what} | (detail or {}))
    if refused is not None:  # raised after the commit: the refusal's audit row is kept
        raise refused
    return Session(role, holder.actor().name, department=holder.department, region=holder.region)


def _rows(body: Any, key: str = "rows") -> list[dict[str, Any]]:
    rows = body.get(key) if isinstance(body, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise WebError(400, "bad_request", f"请求体应含非空的 {key} 列表，每行一个对象（列名 → 值）", key)
    if len(rows) > MAX_ROWS:
        raise WebError(400, "bad_request", f"一次最多推送 {MAX_ROWS} 行（本次 {len(rows)} 行），请分批", key)
    return rows


def _day(body: dict[str, Any]) -> dt.date:
    text = str(body.get("as_of") or "")
    if not text:
        return clock_today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise WebError(400, "bad_request", f"数据日期 as_of “{text[:20]}”应写成 2025-06-30", "as_of") from exc


def _jsonl(folder: str, name: str, rows: list[dict[str, Any]]) -> Path:
    path = Path(folder) / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _import_summary(report: Any) -> dict[str, Any]:
    keep = ("batch_id", "source_id", "duplicate_of", "rows_read", "accepted", "rejected", "warnings", "rejects")
    return scope.as_json({k: getattr(report, k) for k in keep})


@router.get("/cases", openapi_extra=CASES)
def read_cases(request: Request, policy: str = "", state: str = "", after: int = 0) -> Any:
    """本部门政策的案件（按地区限定），按编号升序分页：每页 200 件，下一页用 after=上页 next_after。"""
    s = _caller(request, "读取案件列表", {"policy": policy[:64], "state": state[:24], "after": after})
    if scope.own_region(s):
        listing.fill_regions(engine(request))
    with reading(engine(request)) as conn:
        mine = scope.visible_policy_ids(conn, s)
        if policy:
            scope.own_policy(conn, s, policy)
        chosen = [policy] if policy else sorted(mine)
        where = [cases.c.policy_id.in_(chosen), cases.c.id > after, *scope.region_rows(cases.c.region, s)]
        where += [cases.c.state == state] if state else []
        columns = [cases.c[k] for k in ("id", "policy_id", "policy_version", "uscc", "period", "origin", "state")]
        columns += [cases.c[k] for k in ("amount", "confirmed_amount", "deadline", "region", "updated_at")]
        rows = conn.execute(select(*columns).where(*where).order_by(cases.c.id).limit(PAGE)).mappings()
        found = [dict(r) for r in rows]
    nxt = found[-1]["id"] if len(found) == PAGE else None
    return scope.as_json({"cases": found, "next_after": nxt})


@router.get("/cases/{case_id}")
def read_case(request: Request, case_id: int) -> Any:
    """一件案件及其全部状态变化（另一部门或本部门地区外的案件：不存在）。"""
    s = _caller(request, "读取案件", {"case": case_id})
    with reading(engine(request)) as conn:
        case = scope.own_case(conn, s, case_id)
        moves = conn.execute(
            select(case_events.c.from_state, case_events.c.to_state, case_events.c.note, case_events.c.at)
            .where(case_events.c.case_id == case_id)
            .order_by(case_events.c.id)
        ).mappings()
        shown = {k: v for k, v in case.items() if k not in ("bank_account", "commitment_actor")}
        return scope.as_json(shown | {"events": [dict(m) for m in moves]})


def _within(request: Request, s: Session) -> list[Any]:
    if scope.own_region(s):
        listing.fill_regions(engine(request), table=data_requests)
    return scope.region_rows(data_requests.c.region, s)


@router.get("/data-requests")
def read_requests(request: Request) -> Any:
    """本部门提供的数据项上的数据需求：等待、已答复、已拒绝的数目，最早提出日期与答复期限。"""
    s = _caller(request, "读取数据需求")
    within = _within(request, s)
    with reading(engine(request)) as conn:
        return scope.as_json({"fields": inbox.summary(conn, s.department, within)})


def _held(s: Session, field: str) -> Any:
    spec = inbox.fields_of(s.department).get(field)
    if spec is None:
        raise not_found("数据项")
    return spec


@router.get("/data-requests/{field}")
def read_field_requests(request: Request, field: str, page: int = 1) -> Any:
    """一个数据项的待处理请求（每页 200 条）。"""
    s = _caller(request, "读取数据项的数据需求", {"field": field[:64]})
    _held(s, field)
    within = _within(request, s)
    with reading(engine(request)) as conn:
        rows, total = inbox.requests_page(conn, field, "open", max(page, 1), PAGE, within)
    return scope.as_json({"field": field, "total": total, "requests": rows})


def _sources_for(request: Request, s: Session, source_id: str, field: str | None = None) -> None:
    """The source must exist (and offer `field`), and be registered to the key's department."""
    with reading(engine(request)) as conn:
        found = next((x for x in list_sources(conn) if x.id == source_id), None)
    if found is None or (field is not None and field not in found.fields):
        raise WebError(400, "bad_request", f"没有提供该数据项的数据源“{source_id[:64]}”", "source")
    if not inbox.holds(found.department, s.department):
        raise not_found("数据源")


@router.post("/observations", openapi_extra=OBSERVATIONS)
async def push_observations(request: Request) -> Any:
    """推送数据（与文件导入同一校验与拒收报告）：source 数据源、as_of 数据日期、rows 每行一条（列名与文件相同）。"""
    s = await run_in_threadpool(_caller, request, "推送数据")
    body = await scope.params(request)  # read only after the key is checked
    rows, day, source_id = _rows(body), _day(body), str(body.get("source") or "")
    await run_in_threadpool(_sources_for, request, s, source_id)

    def work() -> Any:
        with tempfile.TemporaryDirectory() as folder:
            path = _jsonl(folder, f"接口推送-{source_id}-{day}.jsonl", rows)
            return import_file(engine(request), source_id, path, day, actor(s))

    return _import_summary(await _domain(run_in_threadpool(work)))


@router.post("/data-requests/{field}/answer", openapi_extra=ANSWER)
async def answer_requests(request: Request, field: str) -> Any:
    """答复数据需求：推送该数据项的数据（同文件导入），随后重新匹配，返回导入与解决的请求数。"""
    s = await run_in_threadpool(_caller, request, "答复数据需求", {"field": field[:64]})
    _held(s, field)
    body = await scope.params(request)
    rows, source_id = _rows(body), str(body.get("source") or "")
    await run_in_threadpool(_sources_for, request, s, source_id, field)
    day = _day(body)

    def work() -> dict[str, Any]:  # the file is written off the event loop; the import removes it
        path = _jsonl(tempfile.mkdtemp(), f"接口答复-{field}.jsonl", rows)
        params = {"source": source_id, "path": str(path), "name": path.name, "field": field, "as_of": day.isoformat()}
        return import_and_rematch(engine(request), actor(s), params)

    shown = await run_in_threadpool(work)
    if shown.get("error"):
        raise WebError(400, "bad_request", shown["error"])
    return scope.as_json(shown)


@router.post("/policies/{policy_id}/list", openapi_extra=LIST)
async def push_list(request: Request, policy_id: str) -> Any:
    """推送名单类政策的名单（与上传名单文件同一校验）：rows 每行 统一社会信用代码、金额、备注。"""
    s = await run_in_threadpool(_caller, request, "推送名单", {"policy": policy_id[:64]})
    rows = _rows(await scope.params(request))

    def work() -> Any:
        with reading(engine(request)) as conn:
            scope.own_policy(conn, s, policy_id)
        with tempfile.TemporaryDirectory() as folder, engine(request).begin() as conn:
            path = _jsonl(folder, f"接口名单-{policy_id}.jsonl", rows)
            return upload_list(conn, policy_id, path, actor(s))

    report = await _domain(run_in_threadpool(work))
    keep = ("upload_id", "rows_read", "rejects", "warnings", "duplicate_of")
    return scope.as_json({k: getattr(report, k) for k in keep} | {"accepted": len(report.case_ids)})


async def _domain(waiting: Any) -> Any:
    try:
        return await waiting
    except MianshenError as exc:
        raise WebError(400, "bad_request", str(exc), getattr(exc, "field", None)) from exc
