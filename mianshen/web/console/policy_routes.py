"""Console routes for policies: write or upload a file, check it, run its tests, simulate, publish;
upload the list of a 名单类 policy."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine, func, select
from starlette.datastructures import UploadFile

from mianshen.audit.log import Actor
from mianshen.cases.lists import upload_list
from mianshen.clock import today as clock_today
from mianshen.matching import cosign
from mianshen.matching.publish import list_versions, publish_policy
from mianshen.rules.values import parse_date
from mianshen.rules.versions import expiring, renews
from mianshen.store.db import reading
from mianshen.store.schema import cases, list_rejects, list_uploads
from mianshen.supervision import items
from mianshen.web.console import scope, work_jobs
from mianshen.web.console.simulate import check_text, simulate
from mianshen.web.deps import actor, engine, page, require_csrf
from mianshen.web.errors import WebError
from mianshen.web.forms import keep_form
from mianshen.web.sessions import Session
from mianshen.web.uploads import read_upload

router = APIRouter()
MAX_LIST = 20 * 1024 * 1024  # a 名单 file (bodylimit lets this route take it)
EDITORS = ("department", "platform_admin")
EXPIRY_NOTICE_DAYS = 30  # 动态更新机制: the console lists policies ending within this many days


def policy_list(request: Request, s: Session) -> list[dict[str, Any]]:
    with reading(engine(request)) as conn:
        visible = scope.visible_policy_ids(conn, s)
        rows = [r for r in list_versions(conn) if r.policy_id in visible]
        grouped = conn.execute(select(cases.c.policy_id, func.count()).group_by(cases.c.policy_id))
        counts: dict[str, int] = {str(pid): int(n) for pid, n in grouped}
    out: dict[str, dict[str, Any]] = {}
    for r in rows:  # newest version first per policy
        item = out.setdefault(
            r.policy_id,
            {"id": r.policy_id, "title": r.title, "kind": r.kind, "department": r.department, "versions": []},
        )
        item["versions"].append(
            {"version": r.version, "state": r.state, "published_at": str(r.published_at), "valid_from": r.valid_from}
        )
        item.setdefault("budget", r.budget)
    for item in out.values():
        item["cases"] = int(counts.get(item["id"], 0))
    _mark_expiring(rows, out, clock_today())
    return list(out.values())


def _mark_expiring(rows: list[Any], out: dict[str, dict[str, Any]], day: dt.date) -> None:
    """到期提醒: a policy whose version in force ends within 30 days gets `expires` (the date) and
    `renewed` (a later version already continues it), so the department sees what to renew."""
    live = [r for r in rows if r.state == "published"]
    for r in expiring(live, day, EXPIRY_NOTICE_DAYS):
        item = out[r.policy_id]
        item["expires"] = r.valid_to
        item["days_left"] = (r.valid_to - day).days
        item["renewed"] = any(v.policy_id == r.policy_id and renews(v, r) for v in live)


@router.get("/console", include_in_schema=False)
def console_home(request: Request) -> Response:
    s = scope.staff(request, *scope.CONSOLE_HOME)
    policies = policy_list(request, s) if s.role in scope.STAFF_READ else []
    with reading(engine(request)) as conn:  # 督办事项 first: what the 专班 has handed this department
        pending = [i for i in items.listed(conn, s.role, s.department) if i["status"] in items.OPEN]
    ending = sorted((p for p in policies if "expires" in p), key=lambda p: p["expires"])
    context = {"policies": policies, "open_items": pending, "expiring": ending, "notice_days": EXPIRY_NOTICE_DAYS}
    context["today"] = clock_today()
    return page(request, "console.html", context)


@router.get("/api/console/policies", tags=["工作台"])
def policies_api(request: Request) -> dict[str, Any]:
    """本部门可见的政策及其版本。"""
    s = scope.staff(request, *scope.STAFF_READ)
    return {"policies": policy_list(request, s)}


@router.get("/console/policies/new", include_in_schema=False)
def editor(request: Request) -> Response:
    s = scope.staff(request, *scope.STAFF_READ)
    source, base = "", request.query_params.get("from", "")
    if base:
        with reading(engine(request)) as conn:
            source = scope.own_policy(conn, s, base).source_yaml
    return page(request, "console_policy_edit.html", {"source": source, "as_of": clock_today().isoformat()})


async def _source(request: Request) -> tuple[dict[str, Any], str, str]:
    data = await scope.params(request)
    upload = data.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read()
        try:
            return data, raw.decode("utf-8"), str(upload.filename)
        except UnicodeDecodeError as exc:
            raise WebError(400, "bad_request", "政策文件须为 UTF-8 编码的 YAML", "file") from exc
    text = str(data.get("source") or "")
    if not text.strip():
        raise WebError(400, "bad_request", "请填写或上传政策文件", "source")
    return data, text, str(data.get("filename") or "policy.yaml")


def _as_of(data: dict[str, Any]) -> dt.date:
    raw = str(data.get("as_of") or "").strip()
    try:
        return parse_date(raw) if raw else clock_today()
    except ValueError as exc:
        raise WebError(400, "bad_request", f"评估日：{exc}", "as_of") from exc


def _own(s: Session, checked: dict[str, Any], request: Request) -> None:
    policy = checked["policy"]
    if policy is None:
        return
    if s.role == "department" and policy.department != s.department:
        raise WebError(403, "forbidden", f"只能办理本部门（{s.department}）的政策，文件中的部门为 {policy.department}")
    with reading(engine(request)) as conn:
        existing = scope.policy_row(conn, policy.id)
    if existing is not None and s.role == "department" and existing.department != s.department:
        raise WebError(403, "forbidden", f"政策编号 {policy.id} 已属于 {existing.department}")
    # A bureau limited to a region (郑州 人社) acts on its region's policies only: a new version of the
    # province's 稳岗返还 from it would change every approval in the province.
    for region in (policy.region, existing.region if existing is not None else None):
        if region and not scope.covers(s, region):
            raise WebError(
                403,
                "forbidden",
                f"本账号限于{scope.region_label(s.region)}，只能检查、模拟和发布适用于本地区的政策；"
                f"政策 {policy.id} 适用于{scope.region_label(region)}",
            )


def _shown(checked: dict[str, Any]) -> dict[str, Any]:
    policy = checked["policy"]
    info = None if policy is None else {"id": policy.id, "version": policy.version, "title": policy.title}
    return {**{k: v for k, v in checked.items() if k != "policy"}, "policy": info}


async def _step(request: Request, step: str) -> Response | dict[str, Any]:
    await require_csrf(request)
    s = scope.writer(request, *EDITORS)
    await keep_form(request, "policy", lambda: editor(request))
    data, text, filename = await _source(request)
    checked = await run_in_threadpool(check_text, text, filename)
    await run_in_threadpool(_own, s, checked, request)
    day = _as_of(data)
    long = step == "simulate" or (step == "publish" and checked["tests_passed"])
    if long and checked["ok"] and not scope.is_api(request):
        # the long part runs as a job: the page shows its progress and survives a reload
        params = {"step": step, "source": text, "filename": filename, "as_of": day.isoformat()}
        job = await run_in_threadpool(work_jobs.start, engine(request), step, params, actor(s))
        return RedirectResponse(f"/console/jobs/{job}", status_code=303)
    result = await run_in_threadpool(run_step, engine(request), actor(s), step, text, filename, day, checked)
    status = 422 if not checked["ok"] or result.get("error") else 200
    if scope.is_api(request):
        return _jsonable(result, status)
    context = {"source": text, "filename": filename, "as_of": day.isoformat(), "step": step, **result}
    return page(request, "console_policy_edit.html", context, status)


def _simulate(eng: Engine, policy: Any, day: dt.date) -> dict[str, Any]:
    with reading(eng) as conn:
        return simulate(conn, policy, day)


def publish_or_cosign(eng: Engine, who: Actor, text: str, policy: Any, simulation: Any) -> dict[str, Any]:
    """A version changing eligibility or money goes to 会签 (matching/cosign.py); others publish now."""
    with eng.begin() as conn:
        if cosign.needs_cosign(conn, policy):
            found = cosign.request(conn, policy, text, simulation, who)
            return {"pending": {"id": found, "policy_id": policy.id, "version": policy.version}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{policy.id}.yaml"
        path.write_text(text, encoding="utf-8")
        with eng.begin() as conn:
            done = publish_policy(conn, path, who)
    shown = {"policy_id": done.policy_id, "version": done.version, "retired": done.retired, "unchanged": done.unchanged}
    return {"published": shown}


def run_step(
    eng: Engine, who: Actor, step: str, text: str, filename: str, day: dt.date, checked: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Check (unless the request already did: `checked`), then simulate, then (for publish) publish
    or file for 会签: what the page shows. A background job checks again: it has only the text."""
    checked = checked if checked is not None else check_text(text, filename)
    result: dict[str, Any] = {"check": _shown(checked), "simulation": None, "published": None, "pending": None}
    if step == "publish" and not (checked["ok"] and checked["tests_passed"]):
        # refused before the (long) simulation: nothing it could show changes the answer
        return result | {"error": "检查未通过或政策测试未全部通过，不能发布"}
    if step in ("simulate", "publish") and checked["ok"]:
        result["simulation"] = _simulate(eng, checked["policy"], day)
    if step == "publish":
        result |= publish_or_cosign(eng, who, text, checked["policy"], result["simulation"])
    return result


def _jsonable(result: dict[str, Any], status: int) -> Response:
    from fastapi.responses import JSONResponse

    return JSONResponse(scope.as_json(result), status_code=status)


def _own_job(request: Request, job: int) -> dict[str, Any]:
    s = scope.staff(request, *scope.STAFF_READ, "data_manager")
    found = work_jobs.load(engine(request), job)
    other_department = scope.department_of(s) is not None and found is not None and found["department"] != s.department
    # data managers see the imports and match runs they start, not a department's simulations
    not_theirs = s.role == "data_manager" and found is not None and found["kind"] not in ("import", "match")
    if found is None or other_department or not_theirs:
        raise WebError(404, "not_found", "后台任务不存在")
    return found


@router.post("/console/match", include_in_schema=False)
async def start_match(request: Request) -> Response:
    """平台管理员、数据管理员：立即匹配（在后台运行，进度页可刷新）。"""
    await require_csrf(request)
    s = scope.writer(request, "platform_admin", "data_manager")
    params = {"as_of": clock_today().isoformat()}
    job = await run_in_threadpool(work_jobs.start, engine(request), "match", params, actor(s))
    return RedirectResponse(f"/console/jobs/{job}", status_code=303)


@router.get("/console/jobs/{job}", include_in_schema=False)
def job_page(request: Request, job: int) -> Response:
    found = _own_job(request, job)
    work_jobs.take_over(engine(request), found)
    shown = found["result"] or {}
    params = found["params"]
    context = {"job": found, "source": params.get("source", ""), "filename": params.get("filename", "")}
    context |= {"as_of": params.get("as_of", ""), "step": params.get("step", ""), "answer": shown}
    context |= {k: shown.get(k) for k in ("check", "simulation", "published", "pending", "error")}
    return page(request, "console_job.html", context)


@router.get("/api/console/jobs/{job}", tags=["工作台"])
def job_api(request: Request, job: int) -> Any:
    """后台任务（模拟测算、发布）的状态：queued、running、done、failed；完成后附结果。"""
    found = _own_job(request, job)
    return scope.as_json(
        {"id": found["id"], "state": found["state"], "label": found["label"], "result": found["result"]}
    )


@router.post("/console/policies/check", include_in_schema=False)
@router.post("/api/console/policies/check", tags=["工作台"])
async def check(request: Request) -> Any:
    """检查政策文件（错误带行号）并运行其中的测试。"""
    return await _step(request, "check")


@router.post("/console/policies/simulate", include_in_schema=False)
@router.post("/api/console/policies/simulate", tags=["工作台"])
async def simulate_route(request: Request) -> Any:
    """按当前企业画像模拟测算：符合/待定数量，按地区、行业、规模分布，总金额对预算，与上一版的差异。"""
    return await _step(request, "simulate")


@router.post("/console/policies/publish", include_in_schema=False)
@router.post("/api/console/policies/publish", tags=["工作台"])
async def publish_route(request: Request) -> Any:
    """发布（须检查通过、测试全部通过）。"""
    return await _step(request, "publish")


def _uploads(request: Request, policy_id: str) -> list[dict[str, Any]]:
    with reading(engine(request)) as conn:
        rows = conn.execute(
            select(list_uploads).where(list_uploads.c.policy_id == policy_id).order_by(list_uploads.c.id.desc())
        ).mappings()
        out = [dict(r) for r in rows]
        for u in out:
            u["rejects"] = [
                dict(r)
                for r in conn.execute(select(list_rejects).where(list_rejects.c.upload_id == u["id"])).mappings()
            ]
    return out


@router.get("/console/policies/{policy_id}", include_in_schema=False)
def policy_page(request: Request, policy_id: str) -> Response:
    s = scope.staff(request, *scope.STAFF_READ)
    with reading(engine(request)) as conn:
        row = scope.own_policy(conn, s, policy_id)
        versions = [r for r in list_versions(conn) if r.policy_id == policy_id]
    context = {"row": row, "versions": versions, "uploads": _uploads(request, policy_id), "today": clock_today()}
    return page(request, "console_policy.html", context)


@router.post("/console/policies/{policy_id}/list", include_in_schema=False)
@router.post("/api/console/policies/{policy_id}/list", tags=["工作台"])
async def list_upload(request: Request, policy_id: str) -> Any:
    """上传名单类政策的名单（CSV 或 XLSX：统一社会信用代码、金额、备注）。"""
    await require_csrf(request)
    s = scope.writer(request, "department")
    await keep_form(request, "list", lambda: policy_page(request, policy_id), "file")

    def own() -> None:
        with reading(engine(request)) as conn:
            scope.own_policy(conn, s, policy_id)

    await run_in_threadpool(own)
    data = await scope.params(request)
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise WebError(400, "bad_request", "请选择名单文件（CSV 或 XLSX）")
    name, content = await read_upload(upload, (".csv", ".xlsx"), "名单文件（CSV 或 XLSX）", MAX_LIST)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)

        def work() -> Any:
            with engine(request).begin() as conn:
                return upload_list(conn, policy_id, path, actor(s))

        report = await run_in_threadpool(work)
    summary = {
        "upload_id": report.upload_id,
        "rows_read": report.rows_read,
        "accepted": len(report.case_ids),
        "rejected": len(report.rejects),
        "duplicate_of": report.duplicate_of,
        "warnings": report.warnings,
    }
    if scope.is_api(request):
        return summary
    return RedirectResponse(f"/console/policies/{policy_id}?uploaded={report.upload_id}", status_code=303)
