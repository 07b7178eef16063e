"""监督问效 dashboard: per policy and department numbers, ECharts charts (served locally), XLSX export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mianshen.store.db import reading
from mianshen.web.console import listing, metrics, scope
from mianshen.web.deps import engine, page

router = APIRouter()
ECHARTS = Path(__file__).resolve().parent.parent / "static" / "vendor" / "echarts.min.js"


def _data(request: Request) -> dict[str, Any]:
    s = scope.staff(request, *scope.DASHBOARD)
    if scope.own_region(s):  # the overdue count is the ledger's, read by the cases' region
        listing.fill_regions(engine(request))
    with reading(engine(request)) as conn:
        return metrics.collect(conn, s)


def _rows(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{key: metrics.cell(key, item.get(key)) for key, _ in metrics.COLUMNS} for item in items]


@router.get("/dashboard", include_in_schema=False)
def dashboard_page(request: Request) -> Response:
    data = _data(request)
    budgeted = [p for p in data["policies"] if p["budget"]]  # budget use means nothing without a budget
    chart = {
        "policies": [p["title"] for p in data["policies"]],
        "funnel": {
            k: [p[k] for p in data["policies"]] for k in ("matched", "notified", "confirmed", "approved", "paid")
        },
        "budget_policies": [p["title"] for p in budgeted],
        "budget_use": [round((p["budget_use"] or 0) * 100, 1) for p in budgeted],
    }
    context = {
        "budgeted": len(budgeted),
        "unbudgeted": len(data["policies"]) - len(budgeted),
        "columns": metrics.COLUMNS,
        "policies": _rows(data["policies"]),
        "departments": _rows(data["departments"]),
        "as_of": data["as_of"],
        "stages": data["stages"],
        "overdue_total": data["overdue_total"],
        "chart": chart,
        "charts": ECHARTS.is_file(),
    }
    return page(request, "dashboard.html", context)


@router.get("/api/dashboard", tags=["监督问效"])
def dashboard_api(request: Request) -> Any:
    """按政策、按部门：匹配、通知、确认、批准、拨付数量，金额，预算使用率，兑现时长中位数与 P90（工作日），逾期，应享未享，异议。"""
    data = _data(request)
    for item in data["policies"] + data["departments"]:
        item.pop("durations", None)
    return scope.as_json(data)


@router.get("/dashboard/export.xlsx", include_in_schema=False)
@router.get("/api/dashboard/export.xlsx", tags=["监督问效"])
def dashboard_export(request: Request) -> Response:
    """导出监督问效表（XLSX，单元格均为文本）。"""
    data = _data(request)
    header = [label for _, label in metrics.COLUMNS]
    rows = [list(r.values()) for r in _rows(data["policies"]) + _rows(data["departments"])]
    return scope.xlsx("监督问效", header, rows)
