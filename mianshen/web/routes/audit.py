"""审计日志 (auditor view): the log with filters, and whether the hash chain verifies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Connection, func, select

from mianshen.audit.anchors import checkpoint
from mianshen.audit.log import verify
from mianshen.rules.values import parse_date
from mianshen.store.db import reading
from mianshen.store.schema import audit_log
from mianshen.web import labels
from mianshen.web.console import scope
from mianshen.web.console.listing import policy_titles
from mianshen.web.deps import engine, page
from mianshen.web.errors import WebError

router = APIRouter()
PAGE = 100
FILTERS = ("actor", "role", "action", "entity_type", "entity_id", "from", "to")


def _day(raw: str, name: str) -> dt.date | None:
    try:
        return parse_date(raw) if raw else None
    except ValueError as exc:
        raise WebError(400, "bad_request", f"{name}：{exc}") from exc


def _rows(conn: Connection, f: dict[str, str], offset: int) -> tuple[list[dict[str, Any]], int]:
    query = select(audit_log)
    if f["actor"]:
        query = query.where(audit_log.c.actor.contains(f["actor"]))
    for key in ("role", "entity_type", "entity_id"):
        if f[key]:
            query = query.where(audit_log.c[key] == f[key])
    if f["action"]:
        query = query.where(audit_log.c.action.startswith(f["action"]))
    start, end = _day(f["from"], "起始日期"), _day(f["to"], "截止日期")
    if start:
        query = query.where(audit_log.c.at >= dt.datetime.combine(start, dt.time(), dt.UTC))
    if end:
        query = query.where(audit_log.c.at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    offset = min(offset, int(total))  # past the end is past the end (and 2⁶³ is no database integer)
    found = conn.execute(query.order_by(audit_log.c.id.desc()).offset(offset).limit(PAGE)).mappings()
    return [dict(r) for r in found], int(total)


def _data(request: Request) -> dict[str, Any]:
    scope.staff(request, *scope.AUDIT)
    f = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    raw = request.query_params.get("offset", "0") or "0"
    try:
        offset = max(0, int(raw))
    except ValueError as exc:
        raise WebError(400, "bad_request", f"起始位置（从第几条记录起显示）应为非负整数，实际为“{raw}”") from exc
    with reading(engine(request)) as conn:
        rows, total = _rows(conn, f, offset)
        check = verify(conn)
    offset = min(offset, total)
    if check.first_broken is None:  # anchor what was just found whole (audit/anchors.py)
        with engine(request).begin() as conn:
            checkpoint(conn)
    chain = {
        "ok": check.first_broken is None,
        "rows": check.rows,
        "first_broken": check.first_broken,
        "problem": check.problem,
    }
    return {"filters": f, "rows": rows, "total": total, "offset": offset, "page": PAGE, "chain": chain}


@router.get("/audit", include_in_schema=False)
def audit_page(request: Request) -> Response:
    data = _data(request)
    with reading(engine(request)) as conn:
        titles = policy_titles(conn)
    data["shown"] = {r["id"]: labels.audit_row(r, titles) for r in data["rows"]}
    return page(request, "audit.html", data)


@router.get("/api/audit", tags=["审计"])
def audit_api(request: Request) -> Any:
    """审计日志（可按 actor、role、action、entity_type、entity_id、from、to 筛选，offset 翻页）与哈希链校验结果。"""
    return scope.as_json(_data(request))


@router.get("/api/audit/verify", tags=["审计"])
def verify_api(request: Request) -> Any:
    """哈希链校验：first_broken 为第一条校验不通过的记录编号。"""
    return _data(request)["chain"]
