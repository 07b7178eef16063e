"""公示异议: the public's objection to a case in 公示 and its SMS-code confirmation (web/objecting.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from mianshen.web import objecting
from mianshen.web.deps import engine, page, require_csrf
from mianshen.web.errors import WebError
from mianshen.web.forms import keep_form
from mianshen.web.limits import SHORT, TEXT, capped
from mianshen.web.routes.public import publicity_page
from mianshen.web.throttle import client_address

router = APIRouter()


@router.post("/publicity/{case_id}/objection", include_in_schema=False)
async def objection(request: Request, case_id: int) -> Response:
    """The same answer whatever the case's state (web/objecting.py): ids are public."""
    await require_csrf(request)
    # a refused objection shows the 公示 page again with the message beside the input (the page
    # lists only cases in 公示, which is public: no state of any other case shows through)
    await keep_form(request, f"objection-{case_id}", lambda: publicity_page(request))
    form = await request.form()
    reason = capped(str(form.get("reason", "")).strip(), TEXT, "异议理由", "reason")
    phone = capped(str(form.get("phone", "")).strip(), SHORT, "手机号", "phone")
    if len(reason) < 5:
        raise WebError(400, "reason_required", "请写明异议理由（至少 5 个字）", "reason")

    def work() -> tuple[str, str | None] | WebError:
        with engine(request).begin() as conn:
            return objecting.submit(conn, case_id, reason, phone, client_address(request))

    done = await run_in_threadpool(work)
    if isinstance(done, WebError):
        return page(request, "message.html", {"title": "异议未提交", "message": done.message}, done.status)
    message, token = done
    if token is not None:
        return page(request, "objection_code.html", {"message": message, "token": token})
    return page(request, "message.html", {"title": "异议已收到", "message": message})


@router.post("/publicity/objection/confirm", include_in_schema=False)
async def objection_confirm(request: Request) -> Response:
    await require_csrf(request)
    form = await request.form()
    token, code = str(form.get("token", ""))[:64], str(form.get("code", ""))[:16]

    def work() -> str | WebError:
        with engine(request).begin() as conn:
            return objecting.confirm(conn, token, code, client_address(request))

    done = await run_in_threadpool(work)
    if isinstance(done, WebError):
        shown = {"message": "请输入短信中的 6 位验证码。", "token": token, "error": done.message}
        return page(request, "objection_code.html", shown, done.status)
    return page(request, "message.html", {"title": "异议已受理", "message": done})
