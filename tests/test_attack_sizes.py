"""Issue 16, M9: request bodies are limited before anything parses them. A 300 MB anonymous
multipart `POST /login` used to be spooled to a temporary file before the 401."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine

from mianshen.web import bodylimit

from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import make_client

staffed = wf.staffed

HUGE = 300 * 1024 * 1024
CHUNK = 64 * 1024
PART = b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'


def call(app: Any, path: str, headers: list[tuple[bytes, bytes]], body_bytes: int) -> tuple[int, bytes, int]:
    """Drive the ASGI app with a body produced on demand; (status, response body, bytes it pulled)."""
    pulled = 0
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= body_bytes:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = (PART if not pulled else b"") + b"x" * CHUNK
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pulled < body_bytes}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("203.0.113.9", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    return int(out["status"]), bytes(out["body"]), pulled


def multipart(length: int | None) -> list[tuple[bytes, bytes]]:
    kind = [(b"content-type", b"multipart/form-data; boundary=XYZ"), (b"accept", b"application/json")]
    return kind + ([(b"content-length", str(length).encode())] if length is not None else [])


def test_a_declared_300_mb_login_is_refused_without_reading_it(staffed: Engine) -> None:
    app = make_client(staffed).app
    status, body, pulled = call(app, "/login", multipart(HUGE), HUGE)
    assert status == 413 and pulled == 0
    assert "提交的内容过大" in body.decode() and "1 MB" in body.decode()


def test_an_undeclared_body_is_cut_off_at_the_limit(staffed: Engine) -> None:
    app = make_client(staffed).app
    status, body, pulled = call(app, "/login", multipart(None), HUGE)
    assert status == 413 and "提交的内容过大" in body.decode()
    assert pulled <= bodylimit.DEFAULT + CHUNK + len(PART)  # not 300 MB


def test_the_413_page_is_the_site_error_page(staffed: Engine) -> None:
    client = make_client(staffed)
    r = client.post("/login", content=b"x" * (bodylimit.DEFAULT + 1), headers={"content-type": "text/plain"})
    assert r.status_code == 413 and "提交的内容过大" in r.text and "<html" in r.text.lower()
    assert "content-security-policy" in r.headers
    api = client.post("/api/my/corrections", content=b"x" * (12 * bodylimit.MB))
    assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"
    assert "11 MB" in api.json()["error"]["message"]


def test_upload_routes_take_more_than_forms() -> None:
    assert bodylimit.limit_for("/login") == bodylimit.DEFAULT
    assert bodylimit.limit_for("/api/my/apply/kuogang-buzhu") > 100 * bodylimit.MB
    assert bodylimit.limit_for("/console/requests/insured_count/answer") > 200 * bodylimit.MB
    assert bodylimit.limit_for("/console/cases/7/decide") == bodylimit.DEFAULT
