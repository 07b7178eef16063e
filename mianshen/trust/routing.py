"""守信激励 / 失信惩戒 in review: each confirmed case is routed to 免审直达 (green channel: the platform
reviews and announces it itself, approves it after 公示 with no objection, and draws a share for a later
check), 常规审核 (as before), or 重点审核 (an on-site check is required before 公示).

The rule is data (routing.yaml, or MIANSHEN_ROUTING_FILE): per policy, the credit grade, the enterprise's
clawbacks within a period (a broken commitment lowers its route for that long), the amount and the
freshness of the data. Serious dishonesty still blocks the case as before (review.guard_blocklist).
Every decision is kept with its reasons (`case_routes`) and audited.

Sampling is systematic: of a policy's green-channel cases in order, the k-th is drawn when
floor(k × rate) passes a whole number, so any run of cases is sampled at exactly the configured rate
(±1 case) — a random draw could not be tested, nor promised to an auditor.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, Integer, func, select
from sqlalchemy import case as sql_case

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.catalogue import load_catalogue
from mianshen.clock import now as platform_now
from mianshen.errors import InputError, MianshenError
from mianshen.profiles.current import read_profile
from mianshen.settings import current as settings
from mianshen.store.schema import dishonesty_records
from mianshen.trust.tables import case_routes

RULES_FILE = Path(__file__).resolve().parent / "routing.yaml"
ROUTES = {"green": "免审直达", "routine": "常规审核", "focus": "重点审核"}
_GREEN_KEYS = {"credit_grades", "max_amount", "max_clawbacks", "fresh_data"}
_FOCUS_KEYS = {"credit_grades", "min_amount", "min_clawbacks"}
_KEYS = {"green", "focus", "clawback_days", "sample_rate"}


@dataclass(frozen=True)
class Route:
    route: str
    reasons: list[str]
    sampled: bool = False


def rules(policy_id: str) -> dict[str, Any]:
    path = Path(settings().routing_file or RULES_FILE)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise MianshenError(f"审核路由规则文件 {path} 无法读取：{type(exc).__name__}") from exc
    merged = {**doc.get("default", {}), **(doc.get("policies") or {}).get(policy_id, {})}
    unknown = (set(merged) - _KEYS) | (set(merged.get("green") or {}) - _GREEN_KEYS)
    unknown |= set(merged.get("focus") or {}) - _FOCUS_KEYS
    if unknown:
        raise MianshenError(f"审核路由规则文件 {path}：不认识的键 {'、'.join(sorted(unknown))}")
    return merged


def _inputs(conn: Connection, case: dict[str, Any], on: dt.date, days: int) -> dict[str, Any]:
    from mianshen.cases.review import freshness

    try:
        grade = read_profile(conn, case["uscc"], on).fields.get("tax_credit_grade")
    except InputError:
        grade = None
    since = platform_now() - dt.timedelta(days=days)
    clawbacks = conn.execute(
        select(func.count())
        .select_from(dishonesty_records)
        .where(dishonesty_records.c.uscc == case["uscc"], dishonesty_records.c.at >= since)
    ).scalar_one()
    report = freshness(conn, case, on)
    return {
        "grade": None if grade is None else str(grade.value),
        "clawbacks": int(clawbacks),
        "amount": Decimal(str(case["confirmed_amount"] or case["amount"] or "0")),
        "stale": list(report["stale"]) + list(report["missing"]),
    }


def decide_route(conn: Connection, case: dict[str, Any], on: dt.date) -> Route:
    rule = rules(case["policy_id"])
    facts = _inputs(conn, case, on, int(rule.get("clawback_days", 1095)))
    grade, amount, clawbacks = facts["grade"], facts["amount"], facts["clawbacks"]
    shown_grade = grade or "未知"
    focus, why = rule.get("focus") or {}, []
    if grade is not None and grade in (focus.get("credit_grades") or []):
        why.append(f"纳税信用等级 {grade}")
    if "min_amount" in focus and amount >= Decimal(str(focus["min_amount"])):
        why.append(f"金额 {amount} 元不低于 {focus['min_amount']} 元")
    if "min_clawbacks" in focus and clawbacks >= int(focus["min_clawbacks"]):
        why.append(f"近 {rule.get('clawback_days', 1095)} 天内有 {clawbacks} 次承诺不实被追回")
    if why:
        return Route("focus", why + ["须现场核验后方可公示"])
    green, missed = rule.get("green") or {}, []
    if "credit_grades" in green and grade not in green["credit_grades"]:
        missed.append(f"纳税信用等级为 {shown_grade}（免审直达须为 {'、'.join(green['credit_grades'])}）")
    if "max_amount" in green and amount > Decimal(str(green["max_amount"])):
        missed.append(f"金额 {amount} 元超过 {green['max_amount']} 元")
    if "max_clawbacks" in green and clawbacks > int(green["max_clawbacks"]):
        missed.append(f"有 {clawbacks} 次承诺不实被追回")
    if green.get("fresh_data") and facts["stale"]:
        missed.append(f"数据缺失或超过时效：{'、'.join(_label(f) for f in facts['stale'])}")
    if not green or missed:
        return Route("routine", missed or ["本政策未设免审直达"])
    reasons = [f"纳税信用等级 {shown_grade}", f"金额 {amount} 元", "无承诺不实记录", "数据均在时效内"]
    return Route("green", [r for r in reasons if r] + ["公示无异议后自动批准"])


def _draw(conn: Connection, policy_id: str, rate: Decimal) -> bool:
    before = conn.execute(
        select(func.count())
        .select_from(case_routes)
        .where(case_routes.c.policy_id == policy_id, case_routes.c.route == "green")
    ).scalar_one()
    k = int(before) + 1
    return math.floor(k * rate) > math.floor((k - 1) * rate)


def route_case(conn: Connection, case: dict[str, Any], actor: Actor = SYSTEM, on: dt.date | None = None) -> Route:
    """Decide, keep and audit the route of a confirmed case (called in the confirmation's transaction)."""
    from mianshen.clock import today

    found = decide_route(conn, case, on or today())
    sampled = found.route == "green" and _draw(
        conn, case["policy_id"], Decimal(str(rules(case["policy_id"]).get("sample_rate", "0")))
    )
    found = Route(found.route, found.reasons, sampled)
    conn.execute(
        case_routes.insert().values(
            case_id=case["id"],
            policy_id=case["policy_id"],
            route=found.route,
            reasons=json.dumps(found.reasons, ensure_ascii=False),
            sampled=sampled,
            decided_at=platform_now(),
        )
    )
    after = {"route": ROUTES[found.route], "reasons": found.reasons, "sampled": sampled}
    record(conn, actor, "trust.route", "case", case["id"], None, after)
    return found


def route_of(conn: Connection, case_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(case_routes).where(case_routes.c.case_id == case_id)).mappings().first()
    if row is None:
        return None
    return dict(row) | {"label": ROUTES[row["route"]], "reasons_list": json.loads(row["reasons"])}


def onsite_missing(conn: Connection, case_id: int) -> bool:
    """A 重点审核 case without a passed on-site check (review.open_publicity refuses it)."""
    from mianshen.store.schema import onsite_checks

    found = conn.execute(select(case_routes.c.route).where(case_routes.c.case_id == case_id)).scalar()
    if found != "focus":
        return False
    passed = conn.execute(
        select(onsite_checks.c.id).where(onsite_checks.c.case_id == case_id, onsite_checks.c.result == "passed")
    ).first()
    return passed is None


def green_due(conn: Connection, limit: int = 500) -> list[int]:
    """Green-channel cases still waiting in 企业已确认 (the worker reviews and announces them)."""
    from mianshen.store.schema import cases

    query = (
        select(cases.c.id)
        .join(case_routes, case_routes.c.case_id == cases.c.id)
        .where(case_routes.c.route == "green", cases.c.state == "confirmed")
        .order_by(cases.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def run_green(conn: Connection, case_id: int, on: dt.date) -> str:
    """免审直达: the freshness re-check and 公示 by the platform; a case whose data turned stale meanwhile
    goes to the department's queue instead (常规审核), with the reason recorded."""
    from mianshen.cases import review

    review.begin_review(conn, case_id, SYSTEM, on)
    try:
        review.open_publicity(conn, case_id, SYSTEM, on)
    except MianshenError as exc:
        conn.execute(
            case_routes.update()
            .where(case_routes.c.case_id == case_id)
            .values(route="routine", reasons=json.dumps([f"免审直达转常规审核：{exc}"], ensure_ascii=False))
        )
        record(
            conn,
            SYSTEM,
            "trust.route",
            "case",
            case_id,
            {"route": "免审直达"},
            {"route": "常规审核", "reason": str(exc)},
        )
        return "routine"
    return "publicity"


def record_sample(conn: Connection, case_id: int, actor: Actor, passed: bool, note: str) -> None:
    """The later check of a drawn green-channel case (抽查), by the policy's department."""
    from mianshen.cases import transitions as tr

    row = route_of(conn, case_id)
    if row is None or not row["sampled"]:
        raise MianshenError(f"案件 {case_id} 不是被抽中复查的免审直达案件")
    case = tr.load_case(conn, case_id)
    tr.authorize(tr.TRANSITIONS["start_publicity"], actor, case, tr.policy_settings(conn, case["policy_id"]))
    if actor.role == "system":
        raise MianshenError("抽查结果须由部门工作人员登记")
    if not note.strip():
        raise MianshenError("请写明抽查情况")
    result = "passed" if passed else "failed"
    conn.execute(
        case_routes.update()
        .where(case_routes.c.case_id == case_id)
        .values(sample_result=result, sample_note=note, sample_by=actor.name, sample_at=platform_now())
    )
    record(conn, actor, "trust.sample_check", "case", case_id, None, {"result": result, "note": note})


def summary(conn: Connection) -> list[dict[str, Any]]:
    """Per policy and route: cases, drawn for a check, checked, failed (the routing page and command)."""
    sampled = func.sum(func.cast(case_routes.c.sampled, Integer))
    checked = func.count(case_routes.c.sample_result)
    failed = func.sum(sql_case((case_routes.c.sample_result == "failed", 1), else_=0))
    query = (
        select(case_routes.c.policy_id, case_routes.c.route, func.count().label("cases"))
        .add_columns(sampled.label("sampled"), checked.label("checked"), failed.label("failed"))
        .group_by(case_routes.c.policy_id, case_routes.c.route)
        .order_by(case_routes.c.policy_id, case_routes.c.route)
    )
    return [
        {**dict(r), "label": ROUTES[r["route"]], "sampled": int(r["sampled"] or 0), "failed": int(r["failed"] or 0)}
        for r in conn.execute(query).mappings()
    ]


def _label(field: str) -> str:
    """A catalogue field as people read it (the reason is shown on the case and in the audit log)."""
    spec = load_catalogue().get(field)
    return spec.label if spec else field
