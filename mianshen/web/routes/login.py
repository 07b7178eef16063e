"""Sign-in and sign-out pages: staff by password, enterprises by USCC + SMS code."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from mianshen.web.deps import engine, page, require_csrf
from mianshen.web.errors import WebError, safe_next
from mianshen.web.passwords import MAX_USERNAME
from mianshen.web.sessions import end_session, start_session
from mianshen.web.signin import MAX_PASSWORD, enterprise_sign_in, request_code, staff_sign_in
from mianshen.web.throttle import client_address

router = APIRouter()
USCC_FIELD = 24  # 18 characters and some spaces around them
HOME_BY_ROLE = {
    "enterprise": "/my",
    "auditor": "/audit",
    "finance": "/console",
    "department": "/console",
    "platform_admin": "/console",
    "data_manager": "/console",
}


# Password hashing (argon2) and the store are slow on purpose or by nature: off the event loop, so a
# stream of sign-in attempts never stalls every other page.
def _staff(eng: Engine, username: str, password: str, client: str) -> Any:
    with eng.begin() as conn:
        return staff_sign_in(conn, username, password, client)


def _code(eng: Engine, uscc: str, client: str) -> Any:
    with eng.begin() as conn:
        return request_code(conn, uscc, client)


def _enterprise(eng: Engine, uscc: str, code: str, client: str) -> Any:
    with eng.begin() as conn:
        return enterprise_sign_in(conn, uscc, code, client)


def _field(form: Any, name: str, limit: int) -> str:
    """A form field, cut at `limit` characters at the edge: a megabyte "username" is never looked up,
    audited or shown back (the sign-in functions refuse what is longer than a real value)."""
    value = form.get(name, "")
    return value[: limit + 1] if isinstance(value, str) else ""


@router.get("/login", include_in_schema=False)
def login_page(request: Request) -> Response:
    return page(request, "login.html", {"next": safe_next(request.query_params.get("next"))})


@router.post("/login", include_in_schema=False)
async def staff_login(request: Request) -> Response:
    await require_csrf(request)
    form = await request.form()
    username = _field(form, "username", MAX_USERNAME)
    password = _field(form, "password", MAX_PASSWORD)
    user = await run_in_threadpool(_staff, engine(request), username, password, client_address(request))
    if isinstance(user, WebError):
        shown = {"error": user.message, "username": username[:MAX_USERNAME], "next": safe_next(form.get("next"))}
        return page(request, "login.html", shown, user.status)
    home = HOME_BY_ROLE.get(str(user["role"]), "/")
    response = RedirectResponse(safe_next(form.get("next")) or home, status_code=303)
    await run_in_threadpool(
        start_session, engine(request), response, request, str(user["role"]), user_id=int(str(user["id"]))
    )
    return response


@router.post("/login/enterprise/code", include_in_schema=False)
async def enterprise_code(request: Request) -> Response:
    await require_csrf(request)
    form = await request.form()
    uscc = _field(form, "uscc", USCC_FIELD).strip().upper()
    back = safe_next(form.get("next"))
    sent = await run_in_threadpool(_code, engine(request), uscc, client_address(request))
    if isinstance(sent, WebError):
        shown = {"error": sent.message, "uscc": uscc[:USCC_FIELD], "next": back}
        return page(request, "login.html", shown, sent.status)
    return page(request, "login.html", {"uscc": uscc, "code_sent": sent, "next": back})


@router.post("/login/enterprise", include_in_schema=False)
async def enterprise_login(request: Request) -> Response:
    await require_csrf(request)
    form = await request.form()
    uscc_raw = _field(form, "uscc", USCC_FIELD).strip().upper()
    code, client = _field(form, "code", 16), client_address(request)
    # a failed guess is counted and audited in its own commit
    uscc = await run_in_threadpool(_enterprise, engine(request), uscc_raw, code, client)
    if isinstance(uscc, WebError):
        shown = {
            "error": uscc.message,
            "uscc": uscc_raw[:USCC_FIELD],
            "code_sent": True,
            "next": safe_next(form.get("next")),
        }
        return page(request, "login.html", shown, uscc.status)
    response = RedirectResponse(safe_next(form.get("next")) or "/my", status_code=303)
    await run_in_threadpool(start_session, engine(request), response, request, "enterprise", uscc=uscc)
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    await require_csrf(request)
    response = RedirectResponse("/", status_code=303)
    await run_in_threadpool(end_session, engine(request), request, response)
    return response
