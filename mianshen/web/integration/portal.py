"""`/s/<token>`: an SMS link opened on a phone — sign in and land on the case.

Signed in as the case's enterprise: straight to the case. Otherwise a one-screen sign-in for the
enterprise the link was sent to: its 统一社会信用代码 is known from the link and shown masked (a
forwarded SMS must not reveal it — notify/templates.py), the code goes to its registered phone, and
after the code the case opens, where it is confirmed. The sign-in itself is the portal's
(web/signin.py: same limits, same audit). Signed in as another enterprise, expired, altered or
unknown: a page saying so, never which enterprise or case the link was for.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from mianshen.clock import today as clock_today
from mianshen.integration.links import case_link, genuine, read_token
from mianshen.notify.templates import mask_uscc
from mianshen.store.db import reading
from mianshen.store.schema import cases, enterprises, policy_versions
from mianshen.web.deps import engine, page, require_csrf, session
from mianshen.web.errors import WebError
from mianshen.web.sessions import start_session
from mianshen.web.signin import enterprise_sign_in, request_code
from mianshen.web.throttle import client_address

router = APIRouter()
INVALID = ("链接无效", "这个链接不完整或已失效。请直接登录平台，在“我的待遇”中查看。", 404)
EXPIRED = ("链接已过期", "这个链接已过有效期。请直接登录平台，在“我的待遇”中查看。", 410)
OTHER = ("链接属于另一家单位", "您当前登录的单位不是短信的收件单位。请退出后，以收到短信的单位登录。", 403)


def _target(request: Request, token: str) -> dict[str, Any] | tuple[str, str, int]:
    """The link's case (id, enterprise, policy title), or the refusal to show."""
    read = read_token(token[:40])
    if read is None:
        return INVALID
    with reading(engine(request)) as conn:
        row = conn.execute(
            select(cases.c.id, cases.c.uscc, policy_versions.c.title)
            .join(
                policy_versions,
                (policy_versions.c.policy_id == cases.c.policy_id)
                & (policy_versions.c.version == cases.c.policy_version),
            )
            .where(cases.c.id == read[0])
        ).first()
    if row is None or not genuine(token, row.uscc):
        return INVALID
    if read[1] < clock_today():
        return EXPIRED
    signed_in = session(request)
    if signed_in is not None and signed_in.role == "enterprise" and signed_in.uscc != row.uscc:
        return OTHER
    return {"case_id": row.id, "uscc": row.uscc, "title": row.title, "token": token}


def _refused(request: Request, refusal: tuple[str, str, int]) -> Response:
    title, message, status = refusal
    return page(request, "message.html", {"title": title, "message": message}, status)


def _shown(found: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"title": found["title"], "masked": mask_uscc(found["uscc"]), "token": found["token"]} | more


@router.get("/s/{token}", include_in_schema=False)
def open_link(request: Request, token: str) -> Response:
    found = _target(request, token)
    if isinstance(found, tuple):
        return _refused(request, found)
    signed_in = session(request)
    if signed_in is not None and signed_in.role == "enterprise":
        return RedirectResponse(f"/my/cases/{found['case_id']}", status_code=303)
    return page(request, "sms_link.html", _shown(found))


async def _in_transaction(request: Request, token: str, act: Any) -> tuple[dict[str, Any], Any] | Response:
    """The link's case and `act(conn, uscc, client)` done in one transaction (its counted attempt and
    audit commit even when it returns an error); or the refusal page. The caller checked CSRF."""
    found = await run_in_threadpool(_target, request, token)
    if isinstance(found, tuple):
        return _refused(request, found)

    def work() -> Any:
        with engine(request).begin() as conn:
            return act(conn, found["uscc"], client_address(request))

    return found, await run_in_threadpool(work)


@router.post("/s/{token}/code", include_in_schema=False)
async def send_code(request: Request, token: str) -> Response:
    await require_csrf(request)
    done = await _in_transaction(request, token, request_code)
    if isinstance(done, Response):
        return done
    found, sent = done
    if isinstance(sent, WebError):
        return page(request, "sms_link.html", _shown(found, error=sent.message), sent.status)
    return page(request, "sms_link.html", _shown(found, code_sent=sent))


@router.post("/s/{token}/login", include_in_schema=False)
async def sign_in(request: Request, token: str) -> Response:
    await require_csrf(request)
    form = await request.form()  # parsed once (by the CSRF check), within the 1 MB body limit
    code = str(form.get("code") or "")[:16]
    done = await _in_transaction(
        request, token, lambda conn, uscc, client: enterprise_sign_in(conn, uscc, code, client)
    )
    if isinstance(done, Response):
        return done
    found, signed = done
    if isinstance(signed, WebError):
        shown = _shown(found, error=signed.message, code_sent=True)
        return page(request, "sms_link.html", shown, signed.status)
    response = RedirectResponse(f"/my/cases/{found['case_id']}", status_code=303)
    await run_in_threadpool(start_session, engine(request), response, request, "enterprise", uscc=signed)
    return response


@router.get("/console/cases/{case_id}/notice", include_in_schema=False)
def printable_notice(request: Request, case_id: int) -> Response:
    """兑现告知书 to print and hand over or post: the case, and the SMS link as a QR code (the same
    link, the same expiry), for an enterprise that is told on paper."""
    import segno
    from markupsafe import Markup

    from mianshen.web.console import scope

    s = scope.staff(request, *scope.STAFF_READ)
    with reading(engine(request)) as conn:
        case = scope.own_case(conn, s, case_id)  # another department's or region's case: 404
        policy = scope.policy_row(conn, case["policy_id"])
        name = conn.execute(select(enterprises.c.name).where(enterprises.c.uscc == case["uscc"])).scalar()
    link = case_link(case_id, case["uscc"])
    shown = link if link.startswith("http") else str(request.base_url).rstrip("/") + link
    qr = Markup(segno.make(shown, error="m").svg_inline(scale=4, title="扫码登录办理"))  # noqa: S704 (segno's own SVG)
    context = {"case": case, "policy": policy, "name": name or "", "link": shown, "qr": qr}
    return page(request, "case_notice.html", context)
