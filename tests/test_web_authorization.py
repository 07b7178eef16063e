"""Authorization matrix: every route of the app, called by every role, against the access docs/web.md promises.

The routes are enumerated from the app (nothing hand-picked); each path parameter is filled from PARAMS,
so a new route with a parameter nobody knows fails `test_every_route_is_classified` instead of escaping.
Expected access is declared by path prefix in RULES. Signed out → 401; wrong role → 403; another
enterprise's case or message, another department's policy or case → 404 (or 403 where a department submits
a policy file of another department). Every POST is also sent by its rightful user without the CSRF token
(and with a forged one): 403. Finally the rightful user proves each route works (2xx/3xx).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from mianshen.integration.links import token_for
from mianshen.web.app import create_app

from . import integration_fixtures as ix
from . import web_auth_fixtures as fx
from .web_auth_fixtures import APPLIED, LISTED, PDF, POLICY, ROLES, World

OK = 200  # any 2xx/3xx
KEYED = ("/api/dept/", "/api/finance/")  # department and finance systems' APIs: by API key — the key matrix at the end
OIDC = "/login/oidc"  # sign-in through an identity provider the world has none of: test_integration_oidc.py
SKIP_PREFIXES = ("/static", "/docs", "/openapi.json", "/favicon.ico", OIDC, *KEYED)


def app_routes(app: Any, keyed: bool = False) -> list[tuple[str, str]]:
    """(method, path) of every route, including those of included routers (FastAPI ≥ 0.165 wraps them);
    `keyed`: only the department API's (by API key), which the session matrix leaves out."""
    try:
        from fastapi.routing import iter_route_contexts

        found: Any = iter_route_contexts(app.routes)
    except ImportError:  # older FastAPI: included routes are flattened into app.routes
        found = app.routes
    out = []
    for route in found:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        assert path is not None, f"a route without a path: {route!r}"
        if path.startswith(SKIP_PREFIXES) != keyed or (keyed and not path.startswith(KEYED)):
            continue
        assert methods, f"{path}: a route without methods (a mount?) is not covered by this matrix"
        out.extend((m, path) for m in sorted(methods - {"HEAD"}))
    return out


ROUTES = app_routes(create_app("sqlite://"))
KEY_ROUTES = app_routes(create_app("sqlite://"), keyed=True)


def page_path(path: str) -> str:
    """/api/console/cases → /console/cases: a page and its JSON twin share one rule."""
    return path[4:] if path.startswith("/api/") else path


def params_of(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


# --- what every parameter is filled with ---------------------------------------------------------

PARAMS: dict[str, Callable[[World], str]] = {
    "policy_id": lambda w: POLICY,  # HRSS's 条件类 policy
    "case_id": lambda w: str(w.case_a),  # A's case of that policy
    "message_id": lambda w: str(w.message_a),
    "batch_id": lambda w: str(w.batch),
    "action": lambda w: "notify",
    "job_id": lambda w: str(w.job()),
    "kind": lambda w: "csv",
    "outcome": lambda w: "paid",
    "sha256": lambda w: w.case_file(),
    "job": lambda w: str(w.work_job()),
    "request_id": lambda w: str(w.cosign_request()),
    "field": lambda w: "ui_new_claimants_last_year",  # held by 人社厅 (HRSS)
    "correction_id": lambda w: str(w.correction()),
    "objection_id": lambda w: str(w.triaged()),
    "item_id": lambda w: str(w.supervision_item()),
    "code": lambda w: document_of_a(w),
    "archive_id": lambda w: str(archive_of(w)[0]),
    "subscription_id": lambda w: str(ix.subscription(w, fx.HRSS)),
    "key_id": lambda w: ix.key_id(ix.api_key(w, fx.HRSS, fresh=True)),  # a key of its own: routes may revoke it
    "token": lambda w: token_for(w.case_a, w.uscc_a),  # the SMS link of A's case
}


def document_of_a(w: World) -> str:
    """A signed document of enterprise A's case. Case A stays 已通知 for the other routes, so its document
    is signed here directly (the department's 决定书 form, which needs no bank account)."""
    from mianshen.audit.log import SYSTEM
    from mianshen.cases.transitions import load_case
    from mianshen.trust import documents

    with w.engine.begin() as conn:
        found = documents.for_case(conn, w.case_a)
        if found:
            return str(found[0]["code"])
        return documents.issue(conn, "decision", load_case(conn, w.case_a), SYSTEM, {})


def archive_of(w: World) -> tuple[int, bytes]:
    """The sealed package of a case that ended (one otherwise unused: declined by its enterprise)."""
    from mianshen.audit.log import SYSTEM, Actor
    from mianshen.cases import transitions as tr
    from mianshen.trust import archive
    from mianshen.trust.tables import case_archives

    case_id = w.spare["ended"]
    owner = Actor("经办人", "enterprise", None, w.owner_of(case_id))
    with w.engine.begin() as conn:
        found = conn.execute(select(case_archives.c.id, case_archives.c.package).order_by(case_archives.c.id)).first()
        if found is None:
            tr.notify(conn, case_id, SYSTEM, dt.date(2025, 8, 29))
            tr.decline(conn, case_id, owner, "不再经营")
            archive.archive_case(conn, case_id)
            found = conn.execute(select(case_archives.c.id, case_archives.c.package)).first()
    assert found is not None
    return int(found.id), bytes(found.package)


OVERRIDES: dict[tuple[str, str], Callable[[World], str]] = {  # (page path, parameter) → value
    ("/my/apply/{policy_id}", "policy_id"): lambda w: APPLIED,  # the 暂难数据化类 one
    ("/console/policies/{policy_id}/list", "policy_id"): lambda w: LISTED,  # 科技厅's 名单类 one
    ("/publicity/{case_id}/objection", "case_id"): lambda w: str(w.spare["public_objection"]),
    ("/console/objections/{objection_id}/{action}", "action"): lambda w: "dismiss",
    ("/console/supervision/{item_id}/{action}", "action"): lambda w: "reply",
    ("/console/integration/subscriptions/{subscription_id}/{action}", "action"): lambda w: "redeliver",
}
QUERIES = {  # ids passed in the query string are scoped too
    "/console/policies/new": {"from": POLICY},
    "/console/cases": {"policy": POLICY},
    "/console/bulk/new": {"policy": POLICY, "action": "decide"},
    "/console/cases.{kind}": {"policy": POLICY},
    "/console/performance": {"policy": POLICY},
    "/console/performance/export.xlsx": {"policy": POLICY},
}


def fill(w: World, path: str, override: dict[str, str] | None = None) -> dict[str, str]:
    given = override or {}
    return {
        name: given.get(name) or OVERRIDES.get((page_path(path), name), PARAMS[name])(w) for name in params_of(path)
    }


# --- who may do what (docs/web.md) ----------------------------------------------------------------

ALL = frozenset(ROLES)
ENTERPRISES = frozenset({"ent_a", "ent_b"})
DEPARTMENTS = frozenset({"hr", "tax", "keji"})
STAFF_READ = DEPARTMENTS | {"aud", "admin"}
OTHER_DEPTS = {"tax": 404, "keji": 404}  # departments that do not own POLICY or its cases
INBOX = DEPARTMENTS | {"dm", "aud", "admin"}  # 数据需求: data managers, departments for the fields they hold


@dataclass(frozen=True)
class Access:
    readers: frozenset[str]  # roles that may GET
    writers: frozenset[str]  # roles that may POST
    owner: str  # the role whose GET proves the route works
    foreign: dict[str, int] = field(default_factory=dict)  # roles of the right kind, wrong owner → status
    foreign_on: frozenset[str] | None = None  # …when the route has one of these parameters (or a scoped query)
    private: bool = True  # a response must not leak A's code or HRSS's policy to foreign readers
    sees_all: frozenset[str] = frozenset({"admin", "aud"})  # readers of every department's data


RULES: list[tuple[str, Access]] = [
    (r"^/s/\{token\}$", Access(ALL, frozenset(), "anon", {"ent_b": 403})),  # an SMS link: A's, masked
    (r"^/s/\{token\}/(code|login)$", Access(frozenset(), ALL, "anon", {"ent_b": 403})),
    (r"^/console/integration$", Access(STAFF_READ | {"fin"}, frozenset(), "hr")),
    (r"^/console/integration/subscriptions$", Access(frozenset(), DEPARTMENTS, "hr")),
    (r"^/console/integration/keys$", Access(frozenset(), DEPARTMENTS | {"fin"}, "hr")),
    (
        r"^/console/integration/subscriptions/\{subscription_id\}/\{action\}$",
        Access(frozenset(), DEPARTMENTS | {"admin"}, "hr", OTHER_DEPTS),
    ),
    (
        r"^/console/integration/keys/\{key_id\}/revoke$",
        Access(frozenset(), DEPARTMENTS | {"admin", "fin"}, "hr", OTHER_DEPTS | {"fin": 404}),
    ),
    (r"^/(policies|guides|publicity|export|login|logout|overdue)?(/|$)", Access(ALL, ALL, "anon", private=False)),
    (r"^/verify(/|$)", Access(ALL, ALL, "anon", private=False)),  # public by design: the code is the secret
    (r"^/my/documents/", Access(ENTERPRISES, frozenset(), "ent_a", {"ent_b": 404})),
    (r"^/console/archives", Access(frozenset({"aud", "admin"}), frozenset(), "aud")),
    (r"^/console/routes$", Access(STAFF_READ, frozenset(), "hr")),
    (
        r"^/my(/|$)",
        Access(ENTERPRISES, ENTERPRISES, "ent_a", {"ent_b": 404}, frozenset({"case_id", "message_id"})),
    ),
    (r"^/console$", Access(STAFF_READ | {"fin", "dm"}, frozenset(), "hr")),
    (r"^/console/drafts/new$", Access(STAFF_READ, frozenset(), "hr")),
    (r"^/console/drafts$", Access(frozenset(), DEPARTMENTS | {"admin"}, "hr")),
    (r"^/console/drafts/accept$", Access(frozenset(), DEPARTMENTS | {"admin"}, "hr", {"tax": 404, "keji": 404})),
    (
        r"^/console/policies/(check|simulate|publish)$",
        Access(frozenset(), DEPARTMENTS | {"admin"}, "hr", {"tax": 403, "keji": 403}),
    ),  # fmt: skip
    (r"^/console/policies/\{policy_id\}/list$", Access(frozenset(), DEPARTMENTS, "keji", {"hr": 404, "tax": 404})),
    (r"^/console/cases/\{case_id\}/\{action\}$", Access(frozenset(), DEPARTMENTS, "hr", OTHER_DEPTS)),
    (r"^/console/cases/bulk$", Access(frozenset(), DEPARTMENTS, "hr")),  # others' cases: reported as not found
    (r"^/console/bulk/new$", Access(DEPARTMENTS, frozenset(), "hr", OTHER_DEPTS)),
    (r"^/console/bulk$", Access(frozenset(), DEPARTMENTS, "hr", OTHER_DEPTS)),
    (r"^/console/bulk/\{job_id\}$", Access(STAFF_READ, frozenset(), "hr", OTHER_DEPTS, frozenset({"job_id"}))),
    (r"^/console/approvals$", Access(STAFF_READ, frozenset(), "hr")),
    (
        r"^/console/jobs/\{job\}$",
        Access(STAFF_READ | {"dm"}, frozenset(), "hr", OTHER_DEPTS | {"dm": 404}, frozenset({"job"})),
    ),
    (
        r"^/console/approvals/\{request_id\}$",
        Access(frozenset(), DEPARTMENTS | {"admin"}, "hr", OTHER_DEPTS, frozenset({"request_id"})),
    ),
    (r"^/console/match$", Access(frozenset(), frozenset({"admin", "dm"}), "dm")),
    (r"^/console/requests$", Access(INBOX, frozenset(), "dm", private=False)),
    (r"^/console/requests/\{field\}(/export.csv)?$", Access(INBOX, frozenset(), "dm", OTHER_DEPTS, private=False)),
    (r"^/console/requests/\{field\}/(answer|refuse)$", Access(frozenset(), INBOX - {"aud"}, "dm", OTHER_DEPTS)),
    (r"^/console/corrections/\{correction_id\}$", Access(frozenset(), INBOX - {"aud"}, "hr", OTHER_DEPTS)),
    (r"^/console/payments", Access(frozenset({"fin", "aud", "admin"}), frozenset({"fin"}), "fin")),
    (r"^/console/objections/\{objection_id\}/\{action\}$", Access(frozenset(), DEPARTMENTS, "hr", OTHER_DEPTS)),
    (
        r"^/console/(policies|cases|objections)",
        Access(STAFF_READ, frozenset(), "hr", OTHER_DEPTS, frozenset({"policy_id", "case_id"})),
    ),
    (r"^/console/ledger$", Access(STAFF_READ, frozenset(), "hr")),
    (
        r"^/console/performance",
        Access(STAFF_READ | {"dm"}, frozenset(), "hr", OTHER_DEPTS, sees_all=frozenset({"admin", "aud", "dm"})),
    ),
    (r"^/console/supervision$", Access(STAFF_READ | {"dm"}, frozenset(), "hr")),
    (r"^/console/supervision/raise$", Access(frozenset(), frozenset({"admin"}), "admin")),
    (r"^/console/scorecard", Access(STAFF_READ | {"dm"}, frozenset(), "hr")),
    (
        r"^/console/supervision/\{item_id\}/\{action\}$",
        Access(frozenset(), DEPARTMENTS | {"dm"}, "hr", OTHER_DEPTS | {"dm": 404}),
    ),
    (r"^/dashboard", Access(STAFF_READ | {"dm"}, frozenset(), "hr", sees_all=frozenset({"admin", "aud", "dm"}))),
    (r"^/audit", Access(frozenset({"aud", "admin"}), frozenset(), "aud")),
]

SKIP = -1  # an allowed POST by someone other than the owner: not sent (it would change data)


def rule(path: str) -> Access:
    for pattern, access in RULES:
        if re.search(pattern, page_path(path)):
            return access
    raise AssertionError(f"{path}: no access rule — add it to RULES")


def expected(method: str, path: str, role: str) -> int:
    access = rule(path)
    allowed = access.readers if method == "GET" else access.writers
    if role not in allowed:
        return 401 if role == "anon" else 403
    scoped = access.foreign_on is None or bool(access.foreign_on & set(params_of(path)) or page_path(path) in QUERIES)
    if role in access.foreign and scoped:
        return access.foreign[role]
    return OK if method == "GET" else SKIP


# Authorization holes found by this matrix: (method, path, role) → reason. Each is xfail(strict=True).
KNOWN_HOLES: dict[tuple[str, str, str], str] = {}


def matrix() -> Iterator[Any]:
    for method, path in ROUTES:
        for role in ROLES:
            if expected(method, path, role) == SKIP:
                continue
            hole = KNOWN_HOLES.get((method, path, role))
            marks = [pytest.mark.xfail(strict=True, reason=f"security bug: {hole}")] if hole else []
            yield pytest.param(method, path, role, id=f"{method} {path} as {role}", marks=marks)


# --- requests -------------------------------------------------------------------------------------

Body = dict[str, Any]


def body_for(w: World, path: str, params: dict[str, str]) -> Body:
    """A well-formed body for each POST, so that a refusal is about who asks, never about the input."""
    p = page_path(path)
    if p == "/publicity/objection/confirm":
        return {"data": w.objection_code()}
    if p.endswith("/confirm"):
        amount, commitment = w.case_info(int(params["case_id"]))
        return {"data": {"amount": amount, "bank_account": fx.ACCOUNT, "commitment": commitment}}
    if p.endswith(("/decline", "/object", "/objection")):
        return {"data": {"reason": "核定人数有误，少算了 3 人", "contact": "13900000000"}}
    if p.startswith("/my/apply/"):
        files = [("files", ("营业执照.pdf", PDF, "application/pdf"))]
        return {"data": {"bank_account": fx.ACCOUNT, "commitment": w.commitment(APPLIED)}, "files": files}
    if p == "/my/corrections":
        return {
            "data": {"field": "employees", "value": "120", "reason": "统计数据未计入新招用人员", "policy_id": POLICY}
        }
    if p in ("/console/policies/check", "/console/policies/simulate", "/console/policies/publish"):
        return {"data": {"source": fx.policy_source(POLICY), "filename": f"{POLICY}.yaml"}}
    if p.endswith("/list"):
        csv = f"统一社会信用代码,金额,备注\n{w.usccs[12]},50000.00,测试\n".encode()
        return {"data": {}, "files": [("file", ("名单.csv", csv, "text/csv"))]}
    if p == "/console/cases/bulk":
        return {"data": {"action": "decide", "ids": [str(w.case_a)]}}
    if p == "/console/bulk":  # 公示 ended: none in this world, so the job is empty and changes nothing
        return {"data": {"policy": POLICY, "action": "decide"}}
    if p.endswith("/account"):
        return {
            "data": {"bank_account": fx.ACCOUNT, "bank_name": "中国工商银行郑州花园路支行", "bank_code": "102491002345"}
        }
    if p.endswith("/results"):  # the bank's result file: the batch's first payment arrived
        case_id, amount = w.payment_in(int(params["batch_id"])) if w.has_payments(int(params["batch_id"])) else (0, "1")
        body = f"备注,金额（元）,结果\n案件{case_id} x,{amount},成功\n".encode()
        return {"data": {}, "files": [("file", ("结果.csv", body, "text/csv"))]}
    if p.startswith("/console/approvals/"):  # sent back, so the world's policies stay as they are
        return {"data": {"decision": "reject", "note": "预算数字需与财政核对"}}
    if p.endswith("/refuse"):
        return {"data": {"basis": "《统计法》第九条", "reason": "统计资料不得对外提供"}}
    if p.endswith("/answer"):  # an empty file of a source providing the field: imported, nothing to re-match
        source = w.source_of(params["field"])
        return {"data": {"source": source[0]}, "files": [("file", ("补报.csv", source[1].encode(), "text/csv"))]}
    if p.startswith("/console/objections/"):
        return {"data": {"reason": "经核实核定人数无误"}}
    if p == "/console/supervision/raise":
        return {"data": {"department": fx.HRSS, "summary": "群众反映到账慢，请核查"}}
    if p == "/s/{token}/login":  # a code sent to A's phone (from another address: the matrix's own is busy)
        from mianshen.web.signin import request_code

        with w.engine.begin() as conn:
            request_code(conn, w.uscc_a, "proof")
        return {"data": {"code": fx.last_code(w.engine, w.uscc_a)}}
    if p == "/console/integration/subscriptions":
        return {"data": {"url": "http://127.0.0.1:9/hook", "events": "case.opened", "algorithm": "hmac-sm3"}}
    if p == "/console/integration/keys":
        return {"data": {"label": "人社业务系统"}}
    if p.startswith("/console/supervision/"):
        return {"data": {"reply": "已逐件通知企业"}}
    if p.startswith("/console/corrections/"):
        return {"data": {"result": "rejected", "reply": "经核对社保系统，数据无误"}}
    if p == "/console/payments/batches":
        return {"data": {"policy_id": POLICY}}
    if p.endswith("/export"):
        return {"data": {"format": "csv"}}
    if p == "/console/drafts":
        return {"data": {"text": fx.DRAFT_TEXT}}
    if p == "/console/drafts/accept":  # HRSS's draft, every candidate declined
        assert w.draft, "the HRSS user's draft was not created"
        return {"data": {"draft": w.draft} | {f"decision_{k}{i}": "reject" for k in "cs" for i in range(40)}}
    if p == "/verify":  # a file to check: refused as not the platform's, with the reason
        return {"data": {}, "files": [("file", ("决定书.json", b'{"format": "x"}', "application/json"))]}
    if p == "/login":
        return {"data": {"username": "aud", "password": fx.PASSWORD}}
    if p.startswith("/login/enterprise"):
        return {"data": {"uscc": w.usccs[13], "code": "000000"}}
    return {"data": {}}


def send(
    client: TestClient, method: str, path: str, params: dict[str, str], body: Body, token: str | None, query: Any = None
) -> Response:
    url = path.format(**params)
    if method == "GET":
        return client.get(url, params=query)
    fields, files = dict(body.get("data", {})), body.get("files")
    if path.startswith("/api/"):
        headers = {} if token is None else {"X-CSRF-Token": token}
        if files:
            return client.post(url, data=fields, files=files, headers=headers)
        return client.post(url, json=fields, headers=headers)
    if token is not None:
        fields["csrf_token"] = token
    return client.post(url, data=fields, files=files)


def call(w: World, method: str, path: str, who: str, token: bool = True) -> Response:
    client = w.client(who)
    params = fill(w, path)
    body = body_for(w, path, params) if method == "POST" else {}
    return send(client, method, path, params, body, fx.csrf(client) if token else None, QUERIES.get(page_path(path)))


world = fx.world  # the module-scoped world of web_auth_fixtures


# --- the tests ------------------------------------------------------------------------------------


def test_every_route_is_classified() -> None:
    assert len(ROUTES) > 60, ROUTES  # the enumeration did find the included routers
    for method, path in ROUTES:
        assert method in ("GET", "POST"), f"{method} {path}: add the method to the matrix"
        unknown = [p for p in params_of(path) if p not in PARAMS]
        assert not unknown, f"{method} {path}: no test value for parameter(s) {unknown} — add them to PARAMS"
        access = rule(path)
        assert access.owner in (access.readers if method == "GET" else access.writers) or path in PROOFS, path


def test_enumeration_matches_the_openapi_schema(world: World) -> None:
    documented = world.client("anon").get("/openapi.json").json()["paths"]
    enumerated = {path for _, path in ROUTES} | {path for _, path in KEY_ROUTES}
    assert set(documented) <= enumerated


@pytest.mark.parametrize(("method", "path", "role"), list(matrix()))
def test_access(world: World, method: str, path: str, role: str) -> None:
    want = expected(method, path, role)
    got = call(world, method, path, role)
    if want == OK:
        assert got.status_code < 400, f"{role}: {got.status_code} {got.text[:300]}"
        access = rule(path)
        if access.private and role != access.owner and role not in access.sees_all:
            leaks = [world.uscc_a] + ([POLICY] if role in fx.STAFF else [])
            assert not [x for x in leaks if x in got.text], f"{role} sees {leaks} in {path}"
    elif want == 401 and not path.startswith("/api/") and got.status_code in (302, 303, 307):
        assert got.headers["location"].startswith("/login")
    else:
        assert got.status_code == want, f"{role}: expected {want}, got {got.status_code} {got.text[:300]}"
        if path.startswith("/api/"):
            code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}[want]
            assert got.json()["error"]["code"] == code, got.text


POSTS = [(m, p) for m, p in ROUTES if m == "POST"]


def owner_post(w: World, path: str) -> tuple[TestClient, dict[str, str], Body]:
    """The rightful user of a POST route, on a resource prepared for it (a case in the right state …)."""
    proof = PROOFS.get(page_path(path))
    api = path.startswith("/api/")
    if proof is not None:
        client, override = proof(w, api)
        params = fill(w, path, override)
    else:
        client, params = w.client(rule(path).owner), fill(w, path)
    return client, params, body_for(w, path, params)


def _case_owner(key: str) -> Callable[[World, bool], tuple[TestClient, dict[str, str]]]:
    def proof(w: World, api: bool) -> tuple[TestClient, dict[str, str]]:
        case_id = w.spare[f"{key}_api" if api else key]
        return w.client(w.owner_of(case_id)), {"case_id": str(case_id)}

    return proof


PROOFS: dict[str, Callable[[World, bool], tuple[TestClient, dict[str, str]]]] = {
    "/my/cases/{case_id}/confirm": _case_owner("confirm"),
    "/my/cases/{case_id}/decline": _case_owner("decline"),
    "/my/cases/{case_id}/object": _case_owner("object"),
    "/my/apply/{policy_id}": lambda w, api: (w.client(w.usccs[13 if api else 12]), {}),
    "/console/cases/{case_id}/{action}": lambda w, api: (
        w.client("hr"),
        {"case_id": str(w.spare["act_api" if api else "act"])},
    ),
    "/console/payments/batches/{batch_id}/paid": lambda w, api: (
        w.client("fin"),
        {"batch_id": str(w.batch2 if api else w.batch)},
    ),
    "/console/corrections/{correction_id}": lambda w, api: (
        w.client("hr"),
        {"correction_id": str(w.correction("api" if api else "page"))},
    ),
    "/my/cases/{case_id}/account": lambda w, api: (
        w.client(w.owner_of(w.returned(w.batch2 if api else w.batch))),
        {"case_id": str(w.returned(w.batch2 if api else w.batch))},
    ),
    "/console/payments/batches/{batch_id}/cases/{case_id}/{outcome}": lambda w, api: (
        w.client("fin"),
        dict(zip(("batch_id", "case_id"), map(str, w.any_payment()), strict=True)),
    ),
    "/console/objections/{objection_id}/{action}": lambda w, api: (
        w.client("hr"),
        {"objection_id": str(w.triaged("api" if api else "page"))},
    ),
    "/console/approvals/{request_id}": lambda w, api: (
        w.client("hr"),
        {"request_id": str(w.cosign_request("api" if api else "page"))},
    ),
    "/console/supervision/{item_id}/{action}": lambda w, api: (
        w.client("hr"),
        {"item_id": str(w.supervision_item("api" if api else "page"))},
    ),
    "/console/integration/keys/{key_id}/revoke": lambda w, api: (
        w.client("hr"),
        {"key_id": ix.key_id(ix.api_key(w, fx.HRSS, fresh=True))},
    ),
    "/login": lambda w, api: (fx.new_client(w.app), {}),
    "/login/enterprise/code": lambda w, api: (fx.new_client(w.app), {}),
    "/logout": lambda w, api: (fx.staff_sign_in(w.app, "aud"), {}),
}


@pytest.mark.parametrize(("method", "path"), POSTS, ids=[p for _, p in POSTS])
def test_post_without_csrf_is_refused(world: World, method: str, path: str) -> None:
    client, params, body = owner_post(world, path)
    for token in (None, "forged-token"):
        got = send(client, method, path, params, body, token)
        assert got.status_code == 403, f"{token}: {got.status_code} {got.text[:300]}"
        if path.startswith("/api/"):
            assert got.json()["error"]["code"] == "csrf"


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_the_rightful_user_gets_through(world: World, method: str, path: str) -> None:
    if method == "GET":
        got = call(world, method, path, rule(path).owner)
    elif page_path(path) == "/login/enterprise":
        client = fx.new_client(world.app)
        uscc = world.usccs[13]
        sent = client.post("/login/enterprise/code", data={"uscc": uscc, "csrf_token": fx.csrf(client)})
        assert sent.status_code == 200, sent.text
        code = fx.last_code(world.engine, uscc)
        got = send(client, method, path, {}, {"data": {"uscc": uscc, "code": code}}, fx.csrf(client))
    else:
        client, params, body = owner_post(world, path)
        got = send(client, method, path, params, body, fx.csrf(client))
    assert 200 <= got.status_code < 400, f"{got.status_code} {got.text[:400]}"


def test_lists_show_only_what_is_in_reach(world: World) -> None:
    """Unfiltered lists: another department sees none of HRSS's cases; enterprise B none of A's."""
    for path in ("/api/console/cases", "/api/console/policies", "/api/console/objections", "/api/dashboard"):
        mine = world.client("hr").get(path)
        theirs = world.client("tax").get(path)
        assert mine.status_code == theirs.status_code == 200, path
        assert POLICY in mine.text and POLICY not in theirs.text and world.uscc_a not in theirs.text, path
    assert world.client("hr").get(f"/api/console/cases?state=notified&policy={POLICY}").json()["cases"]
    for path in ("/api/my/benefits", "/api/my/messages", "/my", "/my/messages"):
        seen = world.client("ent_b").get(path)
        assert seen.status_code == 200 and world.uscc_a not in seen.text and "请确认金额" not in seen.text, path
    public = world.client("anon").get("/api/publicity").json()["rows"]
    assert public and not [r for r in public if r["uscc"] in world.usccs]  # codes are masked
    assert world.usccs[12] not in world.client("anon").get("/publicity").text


def test_no_route_changes_a_signed_document_or_an_archive(world: World) -> None:
    """Runs after the matrix: every route was called by every role (the owners' POSTs went through), and
    the sealed package and the signed document are byte for byte what they were; no route but the
    read-only /verify upload even names them."""
    from mianshen.trust import documents
    from mianshen.trust.offline import check_package, read_package

    archive_id, package = archive_of(world)
    code = document_of_a(world)
    with world.engine.connect() as conn:
        before = documents.by_code(conn, code)
    for method, path in ROUTES:
        if method == "POST":
            assert not re.search(r"archive|document|seal|verify/", path), f"{method} {path} writes trust data"
    for role in ("admin", "aud", "hr", "ent_a"):
        for method, path in POSTS:
            if "{" not in path or path.startswith("/s/"):
                continue  # the parameterless ones were sent by the matrix; an SMS link's sign-in would
                # sign the shared clients in as the enterprise for the tests after this one
            call(world, method, path, role)
    _, again = archive_of(world)
    with world.engine.connect() as conn:
        after = documents.by_code(conn, code)
    assert again == package and after == before
    # a fresh auditor: the loop above also sent the sign-in forms (an SMS link's) with the auditor's client
    folder = fx.staff_sign_in(world.app, "aud").get(f"/console/archives/{archive_id}.zip")
    assert folder.status_code == 200 and folder.content == package
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "a.zip").write_bytes(folder.content)
        assert check_package(read_package(Path(tmp) / "a.zip")).ok


# --- the department API, by API key (docs/integration.md) ----------------------------------------
# Who calls: a key of HRSS (owns POLICY), of 科技厅 (owns LISTED), a revoked HRSS key, no key, and a
# signed-in HRSS officer without a key. A key reaches its own department's policies, cases and data
# fields only; anything else is 404, as in the console. Writes push rows that are all rejected (a bad
# USCC), so the world is not changed while the route is proved to work.
BAD_ROW = {"统一社会信用代码": "91410100XXXXXXXXXX"}
KEY_CASES: dict[tuple[str, str], tuple[str, Callable[[World], dict[str, Any]]]] = {
    # (method, path) → (owning department key, the request: path params, query, JSON body)
    ("GET", "/api/dept/cases"): ("hr", lambda w: {"query": {"policy": POLICY}}),
    ("GET", "/api/dept/cases/{case_id}"): ("hr", lambda w: {"params": {"case_id": str(w.case_a)}}),
    ("GET", "/api/dept/data-requests"): ("any", lambda w: {}),
    ("GET", "/api/dept/data-requests/{field}"): ("hr", lambda w: {"params": {"field": PARAMS["field"](w)}}),
    ("POST", "/api/dept/data-requests/{field}/answer"): (
        "hr",
        lambda w: {
            "params": {"field": PARAMS["field"](w)},
            "json": {"source": w.source_of(PARAMS["field"](w))[0], "rows": [BAD_ROW]},
        },
    ),
    ("POST", "/api/dept/observations"): (
        "hr",
        lambda w: {"json": {"source": w.source_of(PARAMS["field"](w))[0], "rows": [BAD_ROW]}},
    ),
    ("POST", "/api/dept/policies/{policy_id}/list"): (
        "keji",
        lambda w: {"params": {"policy_id": LISTED}, "json": {"rows": [BAD_ROW | {"金额": "1.00"}]}},
    ),
    ("GET", "/api/finance/batches"): ("fin", lambda w: {}),
    ("GET", "/api/finance/batches/{batch_id}/instructions"): ("fin", lambda w: {"params": {"batch_id": str(w.batch)}}),
    ("POST", "/api/finance/batches/{batch_id}/results"): (  # a case not in the batch: reported, nothing paid
        "fin",
        lambda w: {"params": {"batch_id": str(w.batch)}, "json": {"results": [{"case_id": 999999, "amount": "1"}]}},
    ),
}
CALLERS = ("hr", "keji", "fin", "revoked", "none", "session")


def key_for(w: World, caller: str) -> str | None:
    if caller == "revoked":
        whole = ix.api_key(w, fx.HRSS, fresh=True)
        w.client("hr").post(
            f"/console/integration/keys/{ix.key_id(whole)}/revoke", data={"csrf_token": fx.csrf(w.client("hr"))}
        )
        return whole
    if caller == "fin":
        return ix.api_key(w, "河南省财政厅", role="finance")
    return {"hr": ix.api_key(w, fx.HRSS), "keji": ix.api_key(w, fx.KEJI)}.get(caller)


def key_call(w: World, method: str, path: str, caller: str) -> Response:
    owner, make = KEY_CASES[(method, path)]
    request = make(w)
    url = path.format(**request.get("params", {}))
    whole = key_for(w, caller)
    client = w.client("hr") if caller == "session" else fx.new_client(w.app)
    headers = {"Authorization": f"Bearer {whole}"} if whole else {}
    if method == "GET":
        return client.get(url, params=request.get("query"), headers=headers)
    return client.post(url, json=request.get("json"), headers=headers)


def test_every_keyed_route_is_classified() -> None:
    assert KEY_ROUTES and set(KEY_ROUTES) == set(KEY_CASES), set(KEY_ROUTES) ^ set(KEY_CASES)


@pytest.mark.parametrize(("method", "path"), sorted(KEY_CASES), ids=[f"{m} {p}" for m, p in sorted(KEY_CASES)])
@pytest.mark.parametrize("caller", CALLERS)
def test_a_department_key_reaches_only_its_own_department(world: World, method: str, path: str, caller: str) -> None:
    owner = KEY_CASES[(method, path)][0]
    got = key_call(world, method, path, caller)
    if caller in ("revoked", "none"):
        assert got.status_code == 401 and got.json()["error"]["code"] == "unauthenticated", got.text
    elif caller == "session" or (caller == "fin") != path.startswith("/api/finance/"):
        assert got.status_code == 403 and got.json()["error"]["code"] == "forbidden", got.text
    elif owner in (caller, "any"):
        assert got.status_code == 200, got.text[:300]
        if caller == "keji":  # an unscoped listing: nothing of HRSS's
            assert POLICY not in got.text and world.uscc_a not in got.text and PARAMS["field"](world) not in got.text
    else:
        assert got.status_code == 404 and got.json()["error"]["code"] == "not_found", got.text


def test_a_department_key_lists_only_its_own_cases(world: World) -> None:
    mine = key_call(world, "GET", "/api/dept/cases", "hr").json()["cases"]
    assert mine and {c["policy_id"] for c in mine} == {POLICY} and world.case_a in {c["id"] for c in mine}
    client = fx.new_client(world.app)
    theirs = client.get("/api/dept/cases", headers={"Authorization": f"Bearer {ix.api_key(world, fx.KEJI)}"}).json()
    assert POLICY not in {c["policy_id"] for c in theirs["cases"]}
