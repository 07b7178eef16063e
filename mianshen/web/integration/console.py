"""The console page of a department's integration: webhook subscriptions (URL, events, signing,
secret rotation), the dead-letter list with re-delivery, and the department's API keys.

A department manages its own; the platform administrator and the auditor see every department's
(the administrator may re-deliver, the auditor only reads). Another department's subscription or key
is reported as missing (404), as everywhere in the console.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mianshen.errors import InputError
from mianshen.integration import keys, subscriptions
from mianshen.integration.events import EVENT_TYPES
from mianshen.integration.signing import ALGORITHMS
from mianshen.store.db import reading
from mianshen.web import labels
from mianshen.web.console import scope
from mianshen.web.deps import actor, engine, page, require_csrf
from mianshen.web.errors import WebError, not_found

router = APIRouter()
READ = ("department", "platform_admin", "auditor", "finance")  # finance: its own system's keys only
STATUS = {"pending": "待投递", "sending": "投递中", "sent": "已送达", "dead": "失败待处理"}
ACTIONS = ("update", "rotate", "redeliver")


def _overview(request: Request) -> dict[str, Any]:
    s = scope.staff(request, *READ)
    dept = scope.department_of(s)
    with reading(engine(request)) as conn:
        subs = [] if s.role == "finance" else subscriptions.listing(conn, dept)
        for sub in subs:
            sub["dead"] = subscriptions.dead_letters(conn, sub["id"], limit=50)
        return {"subscriptions": subs, "keys": keys.listing(conn, keys.reach(s.role, s.department))}


@router.get("/console/integration", include_in_schema=False)
def integration_page(request: Request) -> Response:
    context = _overview(request) | {
        "event_types": EVENT_TYPES,
        "algorithms": {k: labels.ALGORITHMS[k] for k in ALGORITHMS},
        "status": STATUS,
    }
    return page(request, "console_integration.html", context)


def _kinds(data: Any) -> list[str]:
    if hasattr(data, "getlist"):
        return [str(k) for k in data.getlist("events")]
    return [str(data.get("events"))] if data.get("events") else []


@router.post("/console/integration/subscriptions", include_in_schema=False)
async def subscribe(request: Request) -> Response:
    """A new subscription of the signed-in department; the secret is shown once."""
    await require_csrf(request)
    s = scope.writer(request, "department")
    form = await request.form()
    url, algorithm = str(form.get("url") or ""), str(form.get("algorithm") or "hmac-sm3")

    def work() -> tuple[int, str]:
        with engine(request).begin() as conn:
            return subscriptions.create(conn, actor(s), str(s.department), url, _kinds(form), algorithm)

    sid, secret = await _domain(run_in_threadpool(work))
    return _shown_once(request, "订阅已建立", f"订阅 {sid} 的签名密钥（只显示这一次，请妥善保存）：", secret)


@router.post("/console/integration/subscriptions/{subscription_id}/{action}", include_in_schema=False)
async def subscription_action(request: Request, subscription_id: int, action: str) -> Response:
    """update（url、events、active）、rotate（更换密钥）或 redeliver（delivery 一条，或全部失败的）。"""
    if action not in ACTIONS:
        raise not_found("页面")
    await require_csrf(request)
    s = scope.writer(request, "department", "platform_admin")
    form = await request.form()
    if action in ("update", "rotate") and s.role != "department":
        raise WebError(403, "forbidden", "订阅由部门自己维护")

    def work() -> str | None:
        with engine(request).begin() as conn:
            try:
                sub = subscriptions.load(conn, subscription_id, scope.department_of(s))
            except InputError as exc:
                raise not_found("订阅") from exc
            if action == "rotate":
                return subscriptions.rotate(conn, actor(s), sub)
            if action == "update":
                active = str(form.get("active") or "") == "1"
                subscriptions.update(conn, actor(s), sub, str(form.get("url") or ""), _kinds(form), active)
            else:
                one = str(form.get("delivery") or "")
                subscriptions.redeliver(conn, actor(s), sub, int(one) if one.isdigit() else None)
            return None

    secret = await _domain(run_in_threadpool(work))
    if secret is not None:
        note = f"订阅 {subscription_id} 的新签名密钥（只显示这一次）；旧密钥在宽限期内仍会附带签名："
        return _shown_once(request, "密钥已更换", note, secret)
    return RedirectResponse("/console/integration", status_code=303)


@router.post("/console/integration/keys", include_in_schema=False)
async def new_key(request: Request) -> Response:
    """A new API key of the signed-in department (and its region, when the account has one), or of
    the finance system (a finance officer's key reaches payments only)."""
    await require_csrf(request)
    s = scope.writer(request, "department", "finance")
    form = await request.form()

    def work() -> str:
        with engine(request).begin() as conn:
            owner = s.department or "财政部门"
            return keys.create(conn, actor(s), owner, s.region, str(form.get("label") or ""), s.role)

    whole = await _domain(run_in_threadpool(work))
    return _shown_once(request, "接口密钥已生成", "接口密钥（只显示这一次，请交给本部门系统保存）：", whole)


@router.post("/console/integration/keys/{key_id}/revoke", include_in_schema=False)
async def revoke_key(request: Request, key_id: str) -> Response:
    await require_csrf(request)
    s = scope.writer(request, "department", "platform_admin", "finance")

    def work() -> None:
        with engine(request).begin() as conn:
            keys.revoke(conn, actor(s), key_id, keys.reach(s.role, s.department))

    try:
        await run_in_threadpool(work)
    except InputError as exc:
        raise not_found("接口密钥") from exc
    return RedirectResponse("/console/integration", status_code=303)


async def _domain(waiting: Any) -> Any:
    try:
        return await waiting
    except InputError as exc:
        raise WebError(400, "bad_request", str(exc), exc.field) from exc


def _shown_once(request: Request, title: str, note: str, secret: str) -> Response:
    return page(request, "console_integration_secret.html", {"title": title, "note": note, "secret": secret})
