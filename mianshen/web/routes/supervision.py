"""逾期台账 (staff and public) and 政策绩效评价: pages, JSON and XLSX over `mianshen.supervision`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mianshen.store.db import reading
from mianshen.store.schema import cases
from mianshen.supervision import commitments as cm
from mianshen.supervision import ledger
from mianshen.web.console import listing, scope
from mianshen.web.deps import engine, page

router = APIRouter()
LEDGER_READ = ("department", "platform_admin", "auditor")


def staff_ledger(request: Request) -> ledger.Ledger:
    """The ledger in the session's reach: a department's own policies and region, like its queue."""
    s = scope.staff(request, *LEDGER_READ)
    if scope.own_region(s):
        listing.fill_regions(engine(request))
    with reading(engine(request)) as conn:
        return ledger.collect(conn, scope.visible_policy_ids(conn, s), scope.region_rows(cases.c.region, s))


def public_ledger(request: Request) -> ledger.Ledger:
    with reading(engine(request)) as conn:
        return ledger.collect(conn)


def _context(found: ledger.Ledger, public: bool) -> dict[str, Any]:
    return {
        "ledger": found,
        "rows": found.public() if public else found.rows,
        "stages": found.by_stage(),
        "buckets": ledger.BUCKET_LABELS,
        "commitments": cm.commitment_table(),
        "public": public,
    }


@router.get("/console/ledger", include_in_schema=False)
def ledger_page(request: Request) -> Response:
    return page(request, "ledger.html", _context(staff_ledger(request), public=False))


@router.get("/api/ledger", tags=["监督问效"])
def ledger_api(request: Request) -> Any:
    """逾期台账：超过本环节承诺时限的案件数，按部门、政策、地区、环节与超期工作日数。"""
    return scope.as_json(staff_ledger(request).as_dict())


@router.get("/overdue", include_in_schema=False)
def public_page(request: Request) -> Response:
    return page(request, "ledger.html", _context(public_ledger(request), public=True))


@router.get("/api/overdue", tags=["公开"])
def public_api(request: Request) -> Any:
    """逾期情况（公开）：按部门、政策与环节汇总，不含企业与地区。"""
    return scope.as_json(public_ledger(request).as_dict(public=True))
