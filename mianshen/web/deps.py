"""Request-scoped helpers: the store, the signed-in user, role checks, CSRF, page rendering."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from mianshen.audit.log import Actor
from mianshen.web.errors import WebError
from mianshen.web.forms import failed
from mianshen.web.labels import ROLES
from mianshen.web.sessions import Session, check_csrf, csrf_token, current_session

ROLE_LABELS = ROLES  # one table of role names (web/labels.py)


def engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def session(request: Request) -> Session | None:
    if not hasattr(request.state, "session"):
        request.state.session = current_session(engine(request), request)
    return request.state.session  # type: ignore[no-any-return]


def require(request: Request, *roles: str) -> Session:
    """The signed-in session if its role is one of `roles`: 401 when signed out, 403 otherwise."""
    found = session(request)
    if found is None:
        raise WebError(401, "unauthenticated", "请先登录")
    if roles and found.role not in roles:
        raise WebError(403, "forbidden", "您的角色无权访问此页面")
    return found


def actor(s: Session) -> Actor:
    return Actor(s.name, s.role, s.department, s.uscc)


async def require_csrf(request: Request) -> None:
    """Every state-changing request echoes the CSRF cookie: a form field or the X-CSRF-Token header."""
    submitted = request.headers.get("x-csrf-token")
    if submitted is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        submitted = value if isinstance(value, str) else None
    signed_in = await run_in_threadpool(session, request)  # may read the store: not on the event loop
    if not check_csrf(request, signed_in, submitted):
        raise WebError(403, "csrf", "页面已过期或请求来源不明（CSRF 校验失败），请刷新页面后重试")


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    signed_in = session(request)
    refused, refused_status = failed(request)  # a form shown again: its error, its input, its status
    base = {
        "session": signed_in,
        "csrf_token": csrf_token(request, signed_in),
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "role_labels": ROLE_LABELS,
        "failed": refused,
    }
    status = refused_status if refused_status is not None and status < 400 else status
    return request.app.state.templates.TemplateResponse(request, template, {**base, **context}, status_code=status)  # type: ignore[no-any-return]
