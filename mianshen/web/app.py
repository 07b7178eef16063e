"""The FastAPI application: pages and JSON API over the same service functions as the CLI."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from mianshen.errors import MianshenError
from mianshen.settings import Settings
from mianshen.settings import current as current_settings
from mianshen.store.db import open_store
from mianshen.store.files import keep_private
from mianshen.web import bodylimit, errors, headers, labels
from mianshen.web.catalog import KIND_LABELS
from mianshen.web.sessions import CSRF_COOKIE, put_cookie

HERE = Path(__file__).resolve().parent


def create_app(url: str | None = None, settings: Settings | None = None) -> FastAPI:
    keep_private()  # the store, uploads and logs this process writes are its account's only
    app = FastAPI(
        title="免申即享平台 API",
        description="惠企政策免申即享：政策清单、企业画像、匹配与兑现",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(headers.ids_in_range)],
    )
    _offline_docs(app)
    app.state.settings = settings or current_settings()
    app.state.engine = open_store(url or app.state.settings.database_url)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.filters["money"] = _money
    app.state.templates.env.filters["field_label"] = _field_label
    app.state.templates.env.filters["when"] = _when
    app.state.templates.env.filters["role_label"] = labels.role
    app.state.templates.env.globals["kind_labels"] = KIND_LABELS
    app.state.templates.env.globals["action_labels"] = labels.ACTIONS
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        # browsers ask for it on their own (a 404 in every first visit's log otherwise)
        return FileResponse(HERE / "static" / "img" / "favicon.svg", media_type="image/svg+xml")

    app.add_exception_handler(errors.WebError, errors.web_error_handler)
    app.add_exception_handler(MianshenError, errors.domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, errors.http_error_handler)
    app.add_exception_handler(RequestValidationError, errors.validation_error_handler)
    # added before the header middleware, so inside it: a 413 still carries the security headers
    app.add_middleware(bodylimit.BodyLimit)

    @app.middleware("http")
    async def csrf_cookie(request: Request, call_next: Any) -> Any:
        # Every visitor gets a random CSRF cookie; forms echo it back (double submit until sign-in,
        # the session's own token after).
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        request.state.csrf = token
        headers.new_nonce(request)
        response = await call_next(request)
        if CSRF_COOKIE not in request.cookies and CSRF_COOKIE + "=" not in str(response.headers.getlist("set-cookie")):
            put_cookie(response, request, CSRF_COOKIE, token)
        headers.protect(request, response)
        return response

    from mianshen.web.routes import audit, console, dashboard, enterprise, login, objections, public, supervision

    for module in (public, objections, login, enterprise, console, dashboard, supervision, audit):
        app.include_router(module.router)
    from mianshen.web.routes import trust as trust_web

    app.include_router(trust_web.router)
    from mianshen.integration.settings import oidc_label
    from mianshen.web.integration import api, finance_api, oidc, portal
    from mianshen.web.integration import console as integration_console

    for extra in (integration_console, api, finance_api, portal, oidc):
        app.include_router(extra.router)
    app.state.templates.env.globals["oidc_label"] = oidc_label  # the sign-in page's optional button
    return app


def _offline_docs(app: FastAPI) -> None:
    """/docs with Swagger UI 5 (it reads the OpenAPI 3.1 FastAPI writes; the `swagger-ui-bundle` package's
    4.15 does not) from the files `fastapi-offline` installs: no CDN on a government network."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse

    files = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/static/swagger", StaticFiles(directory=files), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        shown = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="免申即享平台 API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon.png",
        )
        # its inline start-up script runs under the Content-Security-Policy by carrying the nonce
        html = bytes(shown.body).decode().replace("<script>", f'<script nonce="{request.state.csp_nonce}">')
        return HTMLResponse(html)


def _field_label(name: Any) -> str:
    """A catalogue field as people call it: insured_avg_last_year → 上年度月平均参保人数."""
    from mianshen.catalogue import load_catalogue

    spec = load_catalogue().get(str(name))
    return spec.label if spec else str(name)


def _when(value: Any) -> str:
    """A stored time in Beijing time, to the minute."""
    import datetime as dt

    from mianshen.clock import beijing

    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return beijing(value).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def _money(value: Any) -> str:
    from decimal import Decimal

    if value in (None, ""):
        return "—"
    return f"{Decimal(str(value)):,.2f}"
