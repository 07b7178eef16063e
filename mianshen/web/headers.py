"""Security headers on every answer, and the guard that keeps out-of-range ids from the database.

- Content-Security-Policy: scripts only from this site, plus inline `<script>` blocks that carry
  the page's nonce (a few pages poll a job or disable a button after submit); no inline event
  handlers (`page.js` does confirmations); styles from this site and inline (`style=` attributes
  indent condition trees; ECharts and Swagger UI set styles); images from this site and `data:`
  (Swagger UI's icons); no plugins, no framing, forms post only here.
- Cache-Control: no-store on everything answered to a signed-in visitor (a shared computer's
  browser cache or a proxy keeps no enterprise's data).
- No `Server: uvicorn` banner: that header is written by uvicorn itself, so `mianshen serve` starts
  it with `server_header=False`.
- Strict-Transport-Security only when the request came over HTTPS (never on a plain-HTTP demo, where it
  would make the browser refuse the site).
"""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from mianshen.web.errors import not_found
from mianshen.web.sessions import SESSION_COOKIE

MAX_ID = 2**63 - 1  # the largest BIGINT: a larger number in a path names nothing


def new_nonce(request: Request) -> str:
    request.state.csp_nonce = secrets.token_urlsafe(16)
    return str(request.state.csp_nonce)


def policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def protect(request: Request, response: Response) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy(getattr(request.state, "csp_nonce", "")))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    setting = " ".join(headers.getlist("set-cookie"))
    signed_in = SESSION_COOKIE in request.cookies or f"{SESSION_COOKIE}=" in setting
    if signed_in and not request.url.path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"
    if request.url.scheme == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def ids_in_range(request: Request) -> None:
    """A dependency of every route: a number in the path too large for the database is a page that
    does not exist (404), not a database error (500)."""
    for value in request.path_params.values():
        text = str(value).lstrip("+-")
        if text.isdigit() and len(text) > 18 and int(text) > MAX_ID:
            raise not_found()
