"""Sign-in and sign-out pages: staff by password, enterprises by USCC + SMS code."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mianshen.web.deps import engine, page, require_csrf
from mianshen.web.errors import WebError
from mianshen.web.sessions import end_session, start_session
from mianshen.web.signin import enterprise_sign_in, request_code, staff_sign_in

router = APIRouter()
HOME_BY_ROLE = {
    "enterprise": "/my",
    "auditor": "/audit",
    "finance": "/console",
    "department": "/console",
    "platform_admin": "/console",
    "data_manager": "/console",
}


@router.get("/login", include_in_schema=False)
def login_page(request: Request) -> Response:
    return page(request, "login.html", {})


@router.post("/login", include_in_schema=False)
async def staff_login(request: Request) -> Response:
    await require_csrf(request)
    form = await request.form()
    with engine(request).begin() as conn:
        user = staff_sign_in(conn, str(form.get("username", "")), str(form.get("password", "")))
    if isinstance(user, WebError):
        return page(request, "login.html", {"error": user.message, "username": form.get("username", "")}, user.status)
    response = RedirectResponse(HOME_BY_ROLE.get(str(user["role"]), "/"), status_code=303)
    start_session(engine(request), response, request, str(user["role"]), user_id=int(str(user["id"])))
    return response


@router.post("/login/enterprise/code", include_in_schema=False)
async def enterprise_code(request: Request) -> Response:
    await require_csrf(request)
    form = await request.form()
    uscc = str(form.get("uscc", "")).strip().upper()
    try:
        with engine(request).begin() as conn:
            phone = request_code(conn, uscc)
    except WebError as exc:
        return page(request, "login.html", {"error": exc.message, "uscc": uscc}, exc.status)
    return page(request, "login.html", {"uscc": uscc, "code_sent": phone})


@router.post("/login/enterprise", include_in_schema=False)
async def enterprise_login(request: Request) -> Response:
    await require_csrf(request)
    form = await request.form()
    uscc_raw = str(form.get("uscc", "")).strip().upper()
    with engine(request).begin() as conn:  # a failed guess is counted and audited in this commit
        uscc = enterprise_sign_in(conn, uscc_raw, str(form.get("code", "")))
    if isinstance(uscc, WebError):
        return page(request, "login.html", {"error": uscc.message, "uscc": uscc_raw, "code_sent": True}, uscc.status)
    response = RedirectResponse("/my", status_code=303)
    start_session(engine(request), response, request, "enterprise", uscc=uscc)
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    await require_csrf(request)
    response = RedirectResponse("/", status_code=303)
    end_session(engine(request), request, response)
    return response
