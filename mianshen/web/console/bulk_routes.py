"""Console routes for bulk work: act on the selected cases of a page, or on every ready case of a
policy as a background job with a progress page (cases/bulk.py)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from mianshen.cases import bulk
from mianshen.cases.transitions import CaseError
from mianshen.clock import now as platform_now
from mianshen.notify.templates import render
from mianshen.store.db import reading
from mianshen.store.schema import bulk_jobs
from mianshen.web.console import queue, scope
from mianshen.web.deps import actor, engine, page, require_csrf
from mianshen.web.errors import WebError, not_found
from mianshen.web.forms import keep_form
from mianshen.web.headers import MAX_ID
from mianshen.web.sessions import Session

router = APIRouter()
log = logging.getLogger("mianshen.web.bulk")

# The bulk action a queue filtered to one state offers, and its button label.
BULK_BY_STATE = {state: (action, bulk.ACTIONS[action]) for action, state in bulk.SOURCE.items()}
MAX_SELECTED = 200  # one page at most; a whole policy goes through a background job


def _region(s: Session) -> str | None:
    return scope.region_prefix(s.region) or None


def _own_job(request: Request, s: Session, job_id: int) -> dict[str, Any]:
    try:
        job = bulk.load(engine(request), job_id)
    except CaseError as exc:
        raise not_found("批量任务") from exc
    if scope.department_of(s) is not None and job["department"] != s.department:
        raise not_found("批量任务")
    return job


@router.post("/console/cases/bulk", include_in_schema=False)
@router.post("/api/console/cases/bulk", tags=["工作台"])
async def act_on_selected(request: Request) -> Any:
    """对勾选的案件逐件办理（action：notify、publicity、decide；ids：案件编号，每次最多 200 件）。"""
    await require_csrf(request)
    s = scope.writer(request, "department")
    await keep_form(request, "selected", lambda: _queue(request))  # the queue it was sent from
    form = await request.form() if not scope.is_api(request) else None
    data = await scope.params(request)
    action = str(data.get("action") or "")
    raw = form.getlist("ids") if form is not None else data.get("ids", [])
    if isinstance(raw, (str, int)):
        raw = [raw]
    try:
        ids = sorted({int(str(v)) for v in raw})
    except ValueError as exc:
        raise WebError(400, "bad_request", "案件编号应为整数") from exc
    if ids and not 0 < ids[0] <= ids[-1] <= MAX_ID:  # beyond the database's integers: no such case
        raise WebError(400, "bad_request", f"案件编号应为 1 至 {MAX_ID} 之间的整数")
    if action not in bulk.ACTIONS:
        raise WebError(400, "bad_request", "请选择要执行的批量操作")
    if not ids:
        raise WebError(400, "bad_request", "请先勾选要办理的案件")
    if len(ids) > MAX_SELECTED:
        raise WebError(400, "bad_request", f"一次最多勾选 {MAX_SELECTED} 件；整项政策请用“全部批量办理”")

    def work() -> tuple[int, list[dict[str, Any]]]:
        done, failures = 0, []
        for case_id in ids:
            try:
                with engine(request).begin() as conn:
                    queue.act(conn, s, case_id, action, {})
                done += 1
            except (CaseError, WebError) as exc:
                failures.append({"case": case_id, "reason": getattr(exc, "message", None) or str(exc)})
        return done, failures

    done, failures = await run_in_threadpool(work)
    report = {"action": bulk.ACTIONS[action], "total": len(ids), "done": done, "failed": len(failures)}
    if scope.is_api(request):
        return scope.as_json(report | {"failures": failures})
    return page(request, "console_bulk.html", {"report": report | {"failures": failures}, "job": None})


def _queue(request: Request) -> Response:
    from mianshen.web.console.case_routes import queue_page  # it imports this module's actions

    return queue_page(request)


@router.get("/console/bulk/new", include_in_schema=False)
def bulk_preview(request: Request) -> Response:
    return _preview(request, request.query_params.get("policy", ""), request.query_params.get("action", ""))


def _preview(request: Request, policy_id: str, action: str) -> Response:
    """What a bulk action over a whole policy would do; without a policy (or action), the choice of one."""
    s = scope.writer(request, "department")
    if not policy_id or action not in bulk.ACTIONS:
        shown = {"choices": _choices(request, s), "bulk_actions": bulk.ACTIONS, "job": None}
        return page(request, "console_bulk.html", shown)
    with reading(engine(request)) as conn:
        scope.own_policy(conn, s, policy_id)
        try:
            found = bulk.preview(conn, policy_id, action, _region(s))
        except CaseError as exc:
            raise WebError(400, "bad_request", str(exc)) from exc
    sample = render("case_notified", found.sample[1], found.sample[0]).text if found.sample else ""
    found_page: dict[str, Any] = {"preview": found, "sample": sample, "label": bulk.ACTIONS[action], "job": None}
    return page(request, "console_bulk.html", found_page)


def _choices(request: Request, s: Session) -> list[dict[str, Any]]:
    """The department's published policies with how many cases each bulk action would take now."""
    from mianshen.web import catalog

    with reading(engine(request)) as conn:
        visible = scope.visible_policy_ids(conn, s)
        out = []
        for item in catalog.published(engine(request)):
            if item.policy.id not in visible:
                continue
            counts = {a: bulk.preview(conn, item.policy.id, a, _region(s)).count for a in bulk.ACTIONS}
            out.append({"id": item.policy.id, "title": item.policy.title, "counts": counts})
    return out


@router.post("/console/bulk", include_in_schema=False)
@router.post("/api/console/bulk", tags=["工作台"])
async def bulk_start(request: Request) -> Any:
    """对一项政策全部就绪的案件批量办理（policy、action），在后台执行；返回任务编号，进度见 /api/console/bulk/{编号}。"""
    await require_csrf(request)
    s = scope.writer(request, "department")
    data = await scope.params(request)
    policy_id, action = str(data.get("policy") or ""), str(data.get("action") or "")
    await keep_form(request, "bulk", lambda: _preview(request, policy_id, action))
    eng = engine(request)

    def work() -> int:
        with eng.begin() as conn:
            scope.own_policy(conn, s, policy_id)
            try:
                return bulk.start(conn, policy_id, action, actor(s), _region(s))
            except CaseError as exc:
                raise WebError(400, "bad_request", str(exc)) from exc

    job_id = await run_in_threadpool(work)
    run_in_background(eng, job_id)
    if scope.is_api(request):
        return scope.as_json({"job": job_id})
    return RedirectResponse(f"/console/bulk/{job_id}", status_code=303)


def run_in_background(eng: Engine, job_id: int) -> None:
    """Work the job in a thread of this server; if the server stops, the worker resumes it."""

    def work() -> None:
        try:
            if bulk.claim(eng, job_id):
                bulk.run(eng, job_id)
        except Exception:  # the job is marked failed with a message people can read; details go to the log
            log.exception("批量任务 %s 失败", job_id)
            with eng.begin() as conn:
                conn.execute(
                    bulk_jobs.update()
                    .where(bulk_jobs.c.id == job_id)
                    .values(state="failed", finished_at=platform_now())
                )

    threading.Thread(target=work, name=f"bulk-{job_id}", daemon=True).start()


@router.get("/console/bulk/{job_id}", include_in_schema=False)
def bulk_page(request: Request, job_id: int) -> Response:
    s = scope.staff(request, *scope.STAFF_READ)
    return page(request, "console_bulk.html", {"job": _own_job(request, s, job_id), "label": ""})


@router.get("/api/console/bulk/{job_id}", tags=["工作台"])
def bulk_api(request: Request, job_id: int) -> Any:
    """批量任务的进度：total、done、failed、state（queued、running、done、failed）与失败明细。"""
    s = scope.staff(request, *scope.STAFF_READ)
    job = _own_job(request, s, job_id)
    return scope.as_json(
        {k: job[k] for k in ("id", "action", "policy_id", "state", "total", "done", "failed")}
        | {
            "failures": job["report"].get("failures", []),
            "label": bulk.ACTIONS.get(job["action"], job["action"]),
        }
    )
