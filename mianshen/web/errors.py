"""One error type for pages and API alike: a stable code, an HTTP status and a Chinese message."""

from __future__ import annotations

import re
import tempfile
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from mianshen.errors import MianshenError
from mianshen.web.forms import again


class WebError(Exception):
    """`field` names the form input the message is about, so a form shown again puts it there."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


# What a person should do next, by status: pages say this instead of an internal error code.
ADVICE = {
    400: ("填写的内容需要修改", "请按上面的说明修改后重新提交。"),
    401: ("请先登录", "登录后即可继续办理。"),
    403: ("无权办理此事项", "如确需办理，请联系本单位的平台管理员开通权限。"),
    404: ("没有找到", "请检查链接是否完整，或从首页重新进入。"),
    405: ("不支持该操作", "请从页面上的按钮办理。"),
    409: ("已由他人同时办理", "请刷新页面，查看最新状态后再办理。"),
    413: ("提交的内容过大", "请缩小文件（或分成几个文件）后重新提交。"),
    422: ("填写的内容需要修改", "请按上面的说明修改后重新提交。"),
    500: ("系统暂时无法完成", "请稍后重试；如仍不成功，请联系平台运维（12345 政务服务便民热线可转达）。"),
}


def safe_next(value: object) -> str | None:
    """A path on this site to return to after signing in; anything else (another site, `//host`,
    a backslash trick, control characters) is ignored."""
    text = str(value or "")
    if not text.startswith("/") or text.startswith("//") or "\\" in text or any(ord(c) < 32 for c in text):
        return None
    return text


def not_found(what: str = "页面") -> WebError:
    return WebError(404, "not_found", f"{what}不存在")


def forbidden(message: str = "无权访问") -> WebError:
    return WebError(403, "forbidden", message)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def render_error(request: Request, status: int, code: str, message: str) -> Response:
    if status == 401 and request.method == "GET" and not wants_json(request):
        # a deep link (an SMS, a bookmark) opened signed out: sign in, then land where it pointed
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    from mianshen.web.deps import page

    title, advice = ADVICE.get(status, ("未能完成", "请返回上一页后重试。"))
    context = {"status": status, "message": message, "title": title, "advice": advice}
    try:
        return page(request, "error.html", context, status)  # signed-in header, as on every other page
    except Exception:  # the session store itself failing: still an answer in Chinese
        templates: Any = request.app.state.templates
        shown = context | {"session": None, "csrf_token": "", "role_labels": {}}
        return templates.TemplateResponse(request, "error.html", shown, status_code=status)


async def _answer(request: Request, status: int, code: str, message: str, field: str | None = None) -> Response:
    """A refused page form shows its own page again with the typed input (web/forms.py); else the error."""
    shown = await again(request, status, message, field)
    return shown if shown is not None else render_error(request, status, code, message)


async def web_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebError)
    return await _answer(request, exc.status, exc.code, exc.message, exc.field)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    """Bad input caught by the services (a MianshenError) is the user's to fix: 400 with the reason.
    An upload is kept under a temporary folder while it is checked: the reason names the file only."""
    return await _answer(request, 400, "bad_request", without_paths(str(exc)), getattr(exc, "field", None))


def without_paths(text: str) -> str:
    """`/tmp/tmpab12/0/名单.xlsx: …` → `名单.xlsx: …` (a server's folders are nobody's business)."""
    return re.sub(rf"{re.escape(tempfile.gettempdir())}/(?:[^\s/]+/)*([^\s/:：]+)", r"\1", text)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    status = int(getattr(exc, "status_code", 500))
    messages = {404: "页面不存在", 405: "不支持该请求方法", 401: "请先登录", 403: "无权访问"}
    return render_error(
        request,
        status,
        {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(status, "http_error"),
        messages.get(status, str(getattr(exc, "detail", "请求错误"))),
    )


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    errors: list[dict[str, Any]] = getattr(exc, "errors", lambda: [])()
    where = "；".join(f"{'.'.join(str(p) for p in e.get('loc', []))}：{e.get('msg', '')}" for e in errors[:5])
    return await _answer(request, 422, "invalid_input", f"输入有误：{where}")


__all__ = ["MianshenError", "WebError", "forbidden", "not_found"]
