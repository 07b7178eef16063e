"""The enterprise portal's actions, shared by its pages and its JSON API: confirm, decline, object,
apply online with uploads, request a data correction, read messages.

Each action takes the signed-in enterprise from the request and filters every case lookup by its
USCC: another enterprise's case answers 404 (not 403), so case ids cannot be probed. Service errors
become WebErrors with a stable code and the service's Chinese message; the transaction rolls back.

A data correction request gets a 受理编号 and lands in the inbox of the department the field
catalogue names as the field's source (profiles/corrections.py); the enterprise follows it on /my.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, func, select

from mianshen.cases import transitions as tr
from mianshen.cases.applications import applied_amount, submit_application
from mianshen.cases.objections import object_to
from mianshen.clock import now as platform_now
from mianshen.clock import today as clock_today
from mianshen.errors import MianshenError
from mianshen.profiles import corrections
from mianshen.settings import current as platform_settings
from mianshen.store.db import reading
from mianshen.store.paths import var_dir
from mianshen.store.schema import cases, portal_messages
from mianshen.web import catalog, portal
from mianshen.web.deps import actor, engine, require
from mianshen.web.errors import WebError, not_found
from mianshen.web.limits import LONG, TEXT, capped, capped_fields
from mianshen.web.sessions import Session
from mianshen.web.uploads import save_upload

UPLOAD_SUFFIXES = {".pdf", ".ofd", ".jpg", ".jpeg", ".png", ".doc", ".docx", ".xls", ".xlsx", ".zip"}
UPLOAD_KINDS = " PDF、OFD、图片、Word、Excel 或 ZIP"
MAX_FILES = 10


def upload_dir() -> Path:
    return Path(platform_settings().upload_dir or var_dir() / "uploads")


def me(request: Request) -> tuple[Session, str]:
    s = require(request, "enterprise")
    if not s.uscc:
        raise WebError(403, "forbidden", "会话缺少企业信用代码，请重新登录")
    return s, s.uscc


def own_case(conn: Connection, uscc: str, case_id: int) -> dict[str, Any]:
    row = conn.execute(select(cases).where(cases.c.id == case_id, cases.c.uscc == uscc)).mappings().first()
    if row is None:
        raise not_found("案件")  # another enterprise's case looks exactly like a missing one
    return dict(row)


def policy_item(request: Request, policy_id: str) -> catalog.Listed:
    item = catalog.find(engine(request), policy_id)
    if item is None:
        raise not_found("政策")
    return item


@contextmanager
def _acting() -> Iterator[None]:
    """Service errors as stable web errors (the transaction rolls back as the error passes through)."""
    try:
        yield
    except tr.NotAllowed as exc:
        raise not_found("案件") from exc
    except tr.StaleState as exc:
        raise WebError(409, "stale_state", str(exc)) from exc
    except MianshenError as exc:
        raise WebError(400, "rejected_input", str(exc), exc.field) from exc


FIELD_LIMITS = {
    "commitment": (LONG, "信用承诺"),
    "note": (TEXT, "补充说明"),
    "reason": (TEXT, "理由"),
    "value": (TEXT, "更正后的值"),
}


def _squash(text: str) -> str:
    return "".join(text.split())


# --- actions shared by the pages and the API -----------------------------------------------------


def confirm(
    request: Request,
    case_id: int,
    amount: str,
    bank_account: str,
    commitment: str,
    bank_name: str = "",
    bank_code: str = "",
) -> dict[str, Any]:
    s, uscc = me(request)
    typed = {"amount": amount, "bank_account": bank_account, "bank_name": bank_name, "bank_code": bank_code}
    capped_fields(typed | {"commitment": commitment}, FIELD_LIMITS)
    with engine(request).begin() as conn, _acting():
        case = own_case(conn, uscc, case_id)
        settings = tr.policy_settings(conn, case["policy_id"], case["policy_version"])
        try:
            value = applied_amount(amount, settings)
        except tr.CaseError as exc:
            raise WebError(400, "bad_amount", f"确认金额：{exc}", "amount") from exc
        promised = settings.commitment
        if not commitment.strip() or (promised and _squash(commitment) != _squash(promised)):
            raise WebError(400, "commitment_required", "须勾选同意并签署本政策规定的信用承诺后方可确认", "commitment")
        tr.confirm(conn, case_id, actor(s), value, bank_account, commitment, bank_name, bank_code)
        return portal.progress(conn, own_case(conn, uscc, case_id), clock_today())


def correct_account(
    request: Request, case_id: int, bank_account: str, bank_name: str, bank_code: str
) -> dict[str, Any]:
    """After a 退票: the enterprise gives the right account; finance's next batch pays again."""
    s, uscc = me(request)
    capped_fields({"bank_account": bank_account, "bank_name": bank_name, "bank_code": bank_code}, FIELD_LIMITS)
    with engine(request).begin() as conn, _acting():
        own_case(conn, uscc, case_id)
        tr.correct_account(conn, case_id, actor(s), bank_account, bank_name, bank_code)
        return portal.progress(conn, own_case(conn, uscc, case_id), clock_today())


def decline(request: Request, case_id: int, reason: str) -> dict[str, Any]:
    s, uscc = me(request)
    capped(reason, TEXT, "理由", "reason")
    with engine(request).begin() as conn, _acting():
        own_case(conn, uscc, case_id)
        tr.decline(conn, case_id, actor(s), reason.strip() or "企业放弃")
        return portal.progress(conn, own_case(conn, uscc, case_id), clock_today())


def object_case(request: Request, case_id: int, reason: str) -> dict[str, Any]:
    s, uscc = me(request)
    capped(reason, TEXT, "异议理由", "reason")
    if len(reason.strip()) < 5:
        raise WebError(400, "reason_required", "请写明异议理由（至少 5 个字）", "reason")
    with engine(request).begin() as conn, _acting():
        own_case(conn, uscc, case_id)
        object_to(conn, case_id, actor(s), reason.strip())
        return portal.progress(conn, own_case(conn, uscc, case_id), clock_today())


async def apply(request: Request, policy_id: str, fields: dict[str, str], uploads: list[Any]) -> int:
    """Save the uploads to a temporary folder under their own names, then submit through the service."""
    s, uscc = await run_in_threadpool(me, request)
    capped_fields(fields, FIELD_LIMITS)
    files = [u for u in uploads if getattr(u, "filename", None)]
    if not files:
        raise WebError(400, "files_required", "请上传申请材料（至少 1 个文件）", "files")
    if len(files) > MAX_FILES:
        raise WebError(400, "too_many_files", f"一次最多上传 {MAX_FILES} 个文件", "files")
    with tempfile.TemporaryDirectory() as tmp:
        paths = [
            await save_upload(u, Path(tmp), UPLOAD_SUFFIXES, UPLOAD_KINDS, i, "files") for i, u in enumerate(files)
        ]
        form = {k: v.strip() for k, v in fields.items() if v and v.strip()}

        def work() -> int:
            with engine(request).begin() as conn, _acting():
                return submit_application(conn, policy_id, uscc, form, paths, actor(s), files_dir=upload_dir())

        return await run_in_threadpool(work)


async def request_correction(
    request: Request, field: str, value: str, reason: str, policy_id: str = "", upload: Any = None
) -> dict[str, Any]:
    """A correction request with its 受理编号 (profiles/corrections.py), with at most one attachment."""
    s, uscc = await run_in_threadpool(me, request)
    capped_fields({"field": field, "value": value, "reason": reason, "policy_id": policy_id}, FIELD_LIMITS)
    with tempfile.TemporaryDirectory() as tmp:
        path = (
            await save_upload(upload, Path(tmp), UPLOAD_SUFFIXES, UPLOAD_KINDS, field="attachment")
            if getattr(upload, "filename", None)
            else None
        )

        def work() -> dict[str, Any]:
            with engine(request).begin() as conn, _acting():
                return corrections.submit(conn, actor(s), uscc, field, value, reason, policy_id, path, upload_dir())

        return await run_in_threadpool(work)


def my_corrections(request: Request) -> list[dict[str, Any]]:
    _, uscc = me(request)
    with reading(engine(request)) as conn:
        rows = corrections.of_enterprise(conn, uscc)
    return [r | {"created_at": portal.beijing(r["created_at"])} for r in rows]


def messages(request: Request) -> list[dict[str, Any]]:
    _, uscc = me(request)
    query = select(portal_messages).where(portal_messages.c.uscc == uscc).order_by(portal_messages.c.id.desc())
    with reading(engine(request)) as conn:
        rows = [dict(r) for r in conn.execute(query.limit(200)).mappings()]
    return [r | {"created_at": portal.beijing(r["created_at"])} for r in rows]


def mark_read(request: Request, message_id: int) -> None:
    _, uscc = me(request)
    where = (portal_messages.c.id == message_id, portal_messages.c.uscc == uscc)
    with engine(request).begin() as conn:
        if conn.execute(select(portal_messages.c.id).where(*where)).scalar() is None:
            raise not_found("消息")
        conn.execute(
            portal_messages.update().where(*where, portal_messages.c.read_at.is_(None)).values(read_at=platform_now())
        )


# --- reads (a profile read is audited, so these write and use a transaction) ---------------------


def my_benefits(request: Request) -> dict[str, Any]:
    s, uscc = me(request)
    items = catalog.published(engine(request))
    reads: list[dict[str, Any]] = []
    with reading(engine(request)) as conn:  # explained without the write lock; the reads audited after
        view = portal.benefits(conn, actor(s), uscc, items, clock_today(), deferred=reads)
        unread = select(func.count()).where(portal_messages.c.uscc == uscc, portal_messages.c.read_at.is_(None))
        view |= {"unread": conn.execute(unread).scalar_one()}
    with engine(request).begin() as conn:
        portal.write_reads(conn, actor(s), uscc, reads)
    return view


def my_file(request: Request) -> dict[str, Any]:
    s, uscc = me(request)
    with engine(request).begin() as conn:  # the profile read is audited
        return portal.enterprise_file(conn, actor(s), uscc, clock_today())


def my_policy(request: Request, policy_id: str) -> dict[str, Any]:
    s, uscc = me(request)
    item = policy_item(request, policy_id)
    with engine(request).begin() as conn:
        if item.policy.kind == "名单类" and item.policy.id not in portal.own_cases(conn, uscc):
            raise not_found("政策")  # 名单类 are decided by the list, not by data: shown only with a case
        return portal.explanation(conn, actor(s), uscc, item, clock_today())


def my_case(request: Request, case_id: int) -> dict[str, Any]:
    _, uscc = me(request)
    with reading(engine(request)) as conn:
        return portal.progress(conn, own_case(conn, uscc, case_id), clock_today())
