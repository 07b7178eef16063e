"""Pages of the trust package: the public verification page (/verify: scan the QR code, type the code
or upload a file), the published key list, the enterprise's downloads of its signed documents, and the
archive list and export for auditors. Read-only: no route changes a signed document or an archive
(tests/test_web_authorization.py checks every route against them).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine
from starlette.datastructures import UploadFile

from mianshen.store.db import reading
from mianshen.trust import archive, documents, keys, verify
from mianshen.trust.verify import Outcome
from mianshen.web.deps import engine, page, require, require_csrf
from mianshen.web.errors import WebError, not_found

router = APIRouter()
TAGS: list[str | Any] = ["文件核验"]
MAX_UPLOAD = 900 * 1024  # under the site's 1 MB body limit; a signed PDF is ~30 KB


def _by_code(e: Engine, code: str) -> Outcome:
    with reading(e) as conn:  # a public page only reads: it must never take SQLite's write lock
        return verify.from_store(conn, keys.public_keys(conn), code)


def _upload(e: Engine, data: bytes) -> Outcome:
    with reading(e) as conn:
        key_list = keys.public_keys(conn)
        if data.startswith(b"%PDF"):
            return verify.pdf_in_store(conn, key_list, data)
        return verify.json_in_store(conn, key_list, data)


@router.get("/verify", include_in_schema=False)
def verify_page(request: Request, code: str = "") -> Response:
    if code.strip():
        return RedirectResponse(f"/verify/{quote(code.strip().upper()[:16])}", status_code=303)
    return page(request, "verify.html", {"out": None})


@router.get("/verify/keys", tags=TAGS)
def key_list(request: Request) -> Any:
    """平台公布的验证密钥清单（SM2 公钥、所属印章、有效期），供离线核验对照。"""
    with reading(engine(request)) as conn:
        return [k.as_json() for k in keys.public_keys(conn)]


@router.get("/verify/{code}", include_in_schema=False)
def verify_code_page(request: Request, code: str) -> Response:
    out = _by_code(engine(request), code[:16])
    return page(request, "verify.html", {"out": out})  # a failed check is an answer, not an error


@router.get("/api/verify/{code}", tags=TAGS)
def verify_code_api(request: Request, code: str) -> Any:
    """按验证码核验：签名、签发时密钥有效期、与案件记录和审计日志一致。"""
    return _by_code(engine(request), code[:16]).as_json()


@router.post("/verify", include_in_schema=False)
async def verify_upload(request: Request) -> Response:
    await require_csrf(request)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise WebError(400, "bad_request", "请选择要核验的 PDF 或签名 JSON 文件")
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise WebError(413, "too_large", "文件过大：平台签发的文件不超过 900 KB")
    out = await run_in_threadpool(_upload, engine(request), data)
    return await run_in_threadpool(page, request, "verify.html", {"out": out, "filename": upload.filename})


# --- the enterprise's downloads -------------------------------------------------------------------


def _own_document(request: Request, code: str) -> dict[str, Any]:
    s = require(request, "enterprise")
    with reading(engine(request)) as conn:
        row = documents.by_code(conn, code)
        owner = None
        if row is not None:
            from mianshen.cases.transitions import load_case

            owner = load_case(conn, row["case_id"])["uscc"]
    if row is None or owner != s.uscc:
        raise not_found("文件")  # another enterprise's document looks exactly like a missing one
    return row


@router.get("/my/documents/{code}.pdf", include_in_schema=False)
def my_document_pdf(request: Request, code: str) -> Response:
    row = _own_document(request, code)
    with engine(request).begin() as conn:
        pdf = documents.pdf_of(conn, row["code"])
    name = quote(f"{documents.KINDS[row['kind']]}-{row['code']}.pdf")
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
    )


@router.get("/my/documents/{code}.json", include_in_schema=False)
def my_document_json(request: Request, code: str) -> Response:
    row = _own_document(request, code)
    with engine(request).begin() as conn:
        documents.pdf_of(conn, row["code"])  # the JSON carries the PDF's fingerprint: make it first
        found = documents.by_code(conn, row["code"])
    body = json.dumps(documents.envelope(found), ensure_ascii=False, indent=1).encode("utf-8")
    name = quote(f"{documents.KINDS[row['kind']]}-{row['code']}.json")
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
    return Response(body, media_type="application/json", headers=headers)


def case_documents(request: Request, case_id: int) -> list[dict[str, Any]]:
    """For the enterprise's case page (its own case: the page has already checked)."""
    with reading(engine(request)) as conn:
        return documents.for_case(conn, case_id)


# --- the archive, for auditors ------------------------------------------------------------------


@router.get("/console/archives", include_in_schema=False)
def archives_page(request: Request) -> Response:
    require(request, "auditor", "platform_admin")
    with reading(engine(request)) as conn:
        rows = archive.listing(conn)
    return page(request, "console_archives.html", {"rows": rows})


@router.get("/console/archives/{archive_id}.zip", include_in_schema=False)
def archive_download(request: Request, archive_id: int) -> Response:
    require(request, "auditor", "platform_admin")
    with reading(engine(request)) as conn:
        found = archive.package(conn, archive_id)
    if found is None:
        raise not_found("档案")
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(found[0])}"}
    return Response(found[1], media_type="application/zip", headers=headers)


@router.get("/console/routes", include_in_schema=False)
def routes_page(request: Request) -> Response:
    """守信激励: how many cases took each review route, and the results of the sampled checks."""
    from mianshen.trust import routing
    from mianshen.web.console import scope
    from mianshen.web.console.listing import policy_titles

    s = scope.staff(request, *scope.STAFF_READ)
    with reading(engine(request)) as conn:
        visible = scope.visible_policy_ids(conn, s)
        rows = [r for r in routing.summary(conn) if r["policy_id"] in visible]
        titles = policy_titles(conn, {r["policy_id"] for r in rows})
    for r in rows:
        r["title"] = titles.get(r["policy_id"], r["policy_id"])
    return page(request, "console_routes.html", {"rows": rows})
