"""Public pages: 惠企政策清单, 办事指南清单, a page per policy, 公示 (objections: routes/objections.py), exports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from mianshen.clock import today as clock_today
from mianshen.notify.templates import mask_uscc
from mianshen.search.index import related_policies, search_policies
from mianshen.store.db import reading
from mianshen.store.schema import cases, enterprises
from mianshen.web import catalog
from mianshen.web.deps import engine, page
from mianshen.web.errors import not_found

router = APIRouter()


def _filters(request: Request) -> dict[str, str]:
    keys = ("q", "department", "kind", "subject", "industry", "region", "status")
    return {k: request.query_params.get(k, "").strip() for k in keys}


def wanted_codes(f: dict[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """The industry and region filters as code prefixes — typed as codes (C、4101) or as names
    (制造业、郑州) — and what could not be understood (shown, never silently ignored)."""
    from mianshen.errors import InputError
    from mianshen.reference.industries import find_industries_by_name, find_industry
    from mianshen.reference.regions import lookup_region_any
    from mianshen.web.console.scope import region_prefix

    codes: dict[str, list[str]] = {}
    problems: list[str] = []
    if f["industry"]:
        node = find_industry(f["industry"])
        found = [node] if node is not None else find_industries_by_name(f["industry"])
        codes["industry"] = [n.code for n in found]
        if not found:
            problems.append(f"没有名为“{f['industry']}”的行业（国民经济行业分类 GB/T 4754-2017）")
    if f["region"]:
        try:
            codes["region"] = [region_prefix(r.code) for r in lookup_region_any(f["region"])]
        except InputError as exc:
            codes["region"] = []
            problems.append(str(exc))
    return codes, problems


def _matches(item: catalog.Listed, f: dict[str, str], today: dt.date, codes: dict[str, list[str]]) -> bool:
    """The filters other than the query (the query ranks, see `_search`)."""
    p = item.policy
    if f["department"] and f["department"] != p.department:
        return False
    if f["kind"] and f["kind"] != p.kind:
        return False
    if f["subject"] and f["subject"] not in p.subjects:
        return False
    if f["status"] == "in_force" and not item.in_force(today):
        return False
    if f["status"] == "expired" and item.in_force(today):
        return False
    for field, key in (("industry_code", "industry"), ("region_code", "region")):
        if not f[key]:
            continue
        wanted = codes.get(key, [])
        if not wanted:
            return False
        prefixes = item.codes(field)  # no prefixes: the policy is open to every industry (region)
        if prefixes and not any(w.startswith(x) or x.startswith(w) for w in wanted for x in prefixes):
            return False
        # a filter wholly inside an excluded area (郑州 for 全省除郑州市) does not list the policy
        left_out = item.codes(field, "not_within")
        if left_out and all(any(w.startswith(x) for x in left_out) for w in wanted):
            return False
    return True


def policy_list(request: Request) -> tuple[list[catalog.Listed], dict[str, str]]:
    today = clock_today()
    items = catalog.published(engine(request))
    f = _filters(request)
    codes, problems = wanted_codes(f)
    request.state.filter_problems = problems
    candidates = _search(f["q"], items) if f["q"] else items
    return [i for i in candidates if _matches(i, f, today, codes)], f


def _search(query: str, items: list[catalog.Listed]) -> list[catalog.Listed]:
    """Ranked Chinese full-text search with synonyms (jieba + BM25)."""
    ids = [hit.policy_id for hit in search_policies([i.policy for i in items], query)]
    by_id = {i.policy.id: i for i in items}
    return [by_id[i] for i in ids if i in by_id]


@router.get("/", include_in_schema=False)
def home(request: Request) -> Response:
    items = catalog.published(engine(request))
    return page(request, "home.html", {"count": len(items), "in_force": sum(i.in_force(clock_today()) for i in items)})


@router.get("/policies", include_in_schema=False)
def policies_page(request: Request) -> Response:
    items, f = policy_list(request)
    every = catalog.published(engine(request))
    return page(
        request,
        "policies.html",
        {
            "items": items,
            "filters": f,
            "problems": request.state.filter_problems,
            "query": request.url.query,
            "kinds": catalog.KIND_LABELS,
            "described": {i.policy.id: catalog.describe(i, clock_today()) for i in items[:200]},
            "today": clock_today(),
            "departments": sorted({i.policy.department for i in every}),
            "subjects": sorted({s for i in every for s in i.policy.subjects}),
        },
    )


@router.get("/api/policies", tags=["公开"])
def policies_api(request: Request) -> dict[str, Any]:
    """惠企政策清单（可按 q、department、kind、subject、industry、region、status 筛选）。"""
    items, f = policy_list(request)
    today = clock_today()
    return {
        "filters": f,
        "policies": [
            {
                "id": i.policy.id,
                "version": i.version,
                "title": i.policy.title,
                "kind": i.policy.kind,
                "department": i.policy.department,
                "legal_basis": i.policy.doc_numbers,
                "in_force": i.in_force(today),
                "validity": i.validity(today),
                "unverified": bool(i.policy.unverified),
                "valid_from": i.policy.valid_from.isoformat(),
                "valid_to": i.policy.valid_to.isoformat() if i.policy.valid_to else None,
            }
            for i in items
        ],
    }


@router.get("/policies/{policy_id}", include_in_schema=False)
def policy_page(request: Request, policy_id: str) -> Response:
    item = catalog.find(engine(request), policy_id)
    if item is None:
        raise not_found("政策")
    today = clock_today()
    info = catalog.describe(item, today)
    later = next((v.version for v in item.history if v.version > item.version and not v.replaced), None)
    context = {"item": item, "info": info, "related": _related(request, item), "today": today, "later": later}
    return page(request, "policy.html", context)


@router.get("/policies/{policy_id}/calculator", include_in_schema=False)
def calculator_page(request: Request, policy_id: str) -> Response:
    from mianshen.web import calculator

    item = catalog.find(engine(request), policy_id)
    if item is None:
        raise not_found("政策")
    answers = calculator.answers_of(request.query_params)
    shown = calculator.calculate(item, answers, clock_today())
    info = catalog.describe(item, clock_today())
    return page(request, "calculator.html", {"item": item, "info": info, "prefix": calculator.PREFIX} | shown)


@router.get("/api/policies/{policy_id}", tags=["公开"])
def policy_api(request: Request, policy_id: str) -> dict[str, Any]:
    item = catalog.find(engine(request), policy_id)
    if item is None:
        raise not_found("政策")
    return {"version": item.version, **catalog.describe(item, clock_today())}


def _related(request: Request, item: catalog.Listed) -> list[catalog.Listed]:
    every = catalog.published(engine(request))
    ids = related_policies([i.policy for i in every], item.policy.id)
    return [i for i in every if i.policy.id in ids][:3]


@router.get("/guides", include_in_schema=False)
def guides_page(request: Request) -> Response:
    items, f = policy_list(request)
    return page(request, "guides.html", {"items": items, "filters": f})


@router.get("/publicity", include_in_schema=False)
def publicity_page(request: Request) -> Response:
    return page(request, "publicity.html", {"rows": publicity_rows(request)})


def publicity_rows(request: Request) -> list[dict[str, Any]]:
    titles = {i.policy.id: i.policy.title for i in catalog.published(engine(request))}
    with reading(engine(request)) as conn:
        rows = (
            conn.execute(
                select(
                    cases.c.id,
                    cases.c.policy_id,
                    cases.c.uscc,
                    cases.c.amount,
                    cases.c.confirmed_amount,
                    cases.c.publicity_from,
                    cases.c.publicity_to,
                    enterprises.c.name,
                )
                .join(enterprises, enterprises.c.uscc == cases.c.uscc, isouter=True)
                .where(cases.c.state == "publicity")
                .order_by(cases.c.publicity_to, cases.c.id)
            )
            .mappings()
            .all()
        )
    return [
        {
            "case_id": r["id"],
            "policy": titles.get(r["policy_id"], r["policy_id"]),
            "name": catalog.mask_name(r["name"]),
            "uscc": mask_uscc(r["uscc"]),
            "amount": r["confirmed_amount"] or r["amount"],
            "from": r["publicity_from"],
            "to": r["publicity_to"],
        }
        for r in rows
    ]


@router.get("/api/publicity", tags=["公开"])
def publicity_api(request: Request) -> dict[str, Any]:
    """公示名单（名称、信用代码已脱敏）。"""
    return {
        "rows": [
            {**r, "amount": r["amount"], "from": str(r["from"]), "to": str(r["to"])} for r in publicity_rows(request)
        ]
    }


@router.get("/export/policies.xlsx", include_in_schema=False)
def export_policies(request: Request) -> Response:
    return _xlsx(
        "惠企政策清单",
        ["政策", "类型", "部门", "政策依据", "有效期", "享受条件", "金额"],
        [
            [
                i.policy.title,
                i.policy.kind,
                i.policy.department,
                "；".join(i.policy.doc_numbers),
                info["valid"],
                str(i.policy.guide.get("conditions_text", "")),
                "；".join(info["amount"]),
            ]
            for i in policy_list(request)[0]
            for info in [catalog.describe(i, clock_today())]  # described once per policy
        ],
    )


@router.get("/export/guides.xlsx", include_in_schema=False)
def export_guides(request: Request) -> Response:
    def text(value: Any) -> str:
        return "；".join(map(str, value)) if isinstance(value, list) else str(value or "")

    rows = [
        [
            i.policy.title,
            text(g.get("conditions_text")),
            text(g.get("materials")),
            text(g.get("time_limit")),
            text(g.get("process")),
            text(g.get("contact")),
        ]
        for i in policy_list(request)[0]
        for g in [i.policy.guide]
    ]
    return _xlsx("办事指南清单", ["事项", "办理条件", "所需材料", "办理时限", "办理流程", "咨询方式"], rows)


def _xlsx(title: str, header: list[str], rows: list[list[str]]) -> Response:
    from mianshen.web.console.scope import xlsx

    return xlsx(title, header, rows)  # the one spreadsheet writer (mianshen/sheets.py)
