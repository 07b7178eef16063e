"""Request-size limits, enforced before anything parses a body (M9: a 300 MB anonymous multipart
`POST /login` used to be spooled to a temporary file before the 401).

An ASGI wrapper inside the security-header middleware: a declared Content-Length over the route's
limit is answered 413 at once, without reading a byte; a body sent without a length (chunked) is
counted as the application reads it, and the read that passes the limit raises 413 (FastAPI and
Starlette hand an HTTPException through to the site's error pages). Every route takes DEFAULT;
the routes that take files take their files' own limits plus room for the form around them.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from mianshen.web import errors

MB = 1024 * 1024
DEFAULT = 1 * MB  # every form and JSON body: the longest typed text is 5000 字, a policy file ~15 KB
# (pattern on the path, limit): the file limits named beside each, plus 1 MB for the rest of the form
ROUTES: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(pattern), limit)
    for pattern, limit in (
        (r"^(/api)?/my/apply/[^/]+$", 101 * MB),  # 10 materials × 10 MB (portal_actions.MAX_FILES)
        (r"^/console/cases/[^/]+/onsite$", 101 * MB),  # 10 on-site photos × 10 MB (case_routes)
        (r"^(/api)?/my/corrections$", 11 * MB),  # one piece of evidence, 10 MB
        (r"^(/api)?/console/requests/[^/]+/answer$", 201 * MB),  # a data file, 200 MB (inbox_routes)
        (r"^(/api)?/console/payments/batches/[^/]+/results$", 21 * MB),  # a bank result file, 20 MB
        (r"^(/api)?/console/policies/[^/]+/list$", 21 * MB),  # a 名单 file, 20 MB (policy_routes)
        (r"^/console/drafts$", 6 * MB),  # a policy document, 5 MB (draft_routes)
    )
)


def limit_for(path: str) -> int:
    return next((limit for pattern, limit in ROUTES if pattern.match(path)), DEFAULT)


def too_large(limit: int) -> str:
    return f"提交的内容过大：此处最多接受 {limit // MB} MB，未予处理。请缩小文件或分批提交。"


class TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


class BodyLimit:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            request = Request(scope, receive)
            response = errors.render_error(request, 413, "too_large", too_large(limit))
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        await self.app(scope, counted, send)
