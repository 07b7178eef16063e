"""Check, test and simulate a policy file before publishing it (政策发布前的模拟测算).

The file is checked by the same loader as `mianshen policy check` (errors keep their line and
column), its embedded tests run with `run_tests`, and the simulation screens the current profile
library with the compiled SQL on an in-memory DuckDB — the engine match runs use — so the
numbers shown are those a match run would produce on the same date. Nothing is written.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from mianshen.matching.inputs import read_profiles
from mianshen.matching.publish import parse_version
from mianshen.reference.industries import find_industry
from mianshen.reference.regions import find_region
from mianshen.rules.ast import Policy
from mianshen.rules.loader import read_policy
from mianshen.rules.testing import run_tests
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.engines import MatchRow, duckdb_connect
from mianshen.sqlgen.screen import screen
from mianshen.web.console.scope import policy_row

STATUS_LABELS = {"eligible": "符合", "unknown": "缺数据待定", "ineligible": "不符合"}
GROUP_FIELDS = {"region": "region_code", "industry": "industry_code", "size": "size_class"}


def check_text(text: str, filename: str = "policy.yaml") -> dict[str, Any]:
    """Diagnostics (line, column, message, hint) and test outcomes of a policy file's text."""
    name = Path(filename or "policy.yaml").name
    if not name.endswith((".yaml", ".yml")):
        name += ".yaml"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        policy, diagnostics = read_policy(path)
    problems = [
        {
            "line": d.location.line,
            "column": d.location.column,
            "severity": d.severity,
            "severity_label": "错误" if d.severity == "error" else "警告",
            "message": d.message,
            "hint": d.hint,
        }
        for d in diagnostics
    ]
    ok = policy is not None and not any(d.severity == "error" for d in diagnostics)
    tests = []
    if ok and policy is not None:
        tests = [{"name": t.test.name, "passed": t.passed, "problems": t.problems} for t in run_tests([policy])]
    return {
        "ok": ok,
        "policy": policy if ok else None,
        "diagnostics": problems,
        "tests": tests,
        "tests_passed": all(t["passed"] for t in tests),
    }


def _group(field: str, value: Any) -> str:
    text = "" if value is None else str(value)
    if not text:
        return "（缺数据）"
    if field == "region_code":
        city = text[:4] + "00"
        info = find_region(city) or find_region(text)
        return f"{city} {info.node.name}" if info else text
    if field == "industry_code":
        node = find_industry(text)
        section = find_industry(node.section) if node else None
        return f"{node.section} {section.name}" if node and section else text
    return text


def _tally(rows: list[MatchRow], groups: dict[str, dict[str, str]]) -> dict[str, Any]:
    status = Counter(r.status for r in rows)
    total = sum((r.amount for r in rows if r.status == "eligible" and r.amount is not None), Decimal(0))
    by: dict[str, list[dict[str, Any]]] = {}
    for key, field in GROUP_FIELDS.items():
        counts: dict[str, Counter[str]] = {}
        for r in rows:
            counts.setdefault(groups[field].get(r.id, "（缺数据）"), Counter())[r.status] += 1
        by[key] = [
            {"group": g, "eligible": c["eligible"], "unknown": c["unknown"], "ineligible": c["ineligible"]}
            for g, c in sorted(counts.items(), key=lambda kv: (-kv[1]["eligible"], kv[0]))
        ]
    return {
        "evaluated": len(rows),
        "eligible": status["eligible"],
        "unknown": status["unknown"],
        "ineligible": status["ineligible"],
        "total": total,
        "by": by,
    }


def _diff(new: list[MatchRow], old: list[MatchRow]) -> dict[str, Any]:
    before = {r.id: r for r in old}
    moves: Counter[str] = Counter()
    amount_changed = 0
    for r in new:
        prev = before.get(r.id)
        was = prev.status if prev else "ineligible"
        if was != r.status:
            moves[f"{STATUS_LABELS[was]} → {STATUS_LABELS[r.status]}"] += 1
        elif r.status == "eligible" and prev is not None and prev.amount != r.amount:
            amount_changed += 1
    return {
        "moves": [{"change": k, "count": v} for k, v in sorted(moves.items(), key=lambda kv: -kv[1])],
        "amount_changed": amount_changed,
        "newly_eligible": sum(v for k, v in moves.items() if k.endswith("→ 符合")),
        "no_longer_eligible": sum(v for k, v in moves.items() if k.startswith("符合 →")),
    }


def simulate(conn: Connection, policy: Policy, as_of: dt.date) -> dict[str, Any]:
    """The policy over every current profile, by status, region, industry and size, against its budget
    and against the version published before it."""
    if policy.kind == "名单类":
        return {"skipped": "名单类政策的享受对象来自部门上传的名单，不做画像模拟"}
    previous = None
    row = policy_row(conn, policy.id)
    if row is not None:
        previous = parse_version(row)
    chosen = [policy] + ([previous] if previous is not None else [])
    fields = {f for p in chosen for f in needed_fields(p)} | set(GROUP_FIELDS.values())
    profiles = read_profiles(conn, as_of, fields)
    groups = {
        f: {u: _group(f, p.fields[f].value if f in p.fields else None) for u, p in profiles.items()}
        for f in GROUP_FIELDS.values()
    }
    summaries = []
    if profiles:
        duck = duckdb_connect()
        try:
            summaries = screen(duck, "duckdb", chosen, [p.to_profile() for p in profiles.values()], as_of)
        finally:
            duck.close()
    rows = summaries[0].rows if summaries else []
    result = _tally(rows, groups)
    budget = policy.budget
    result.update(
        as_of=as_of.isoformat(),
        budget=budget,
        budget_share=None if not budget else float(result["total"] / budget),
        over_budget=budget is not None and result["total"] > budget,
        previous=None,
    )
    if previous is not None:
        old = summaries[1].rows if len(summaries) > 1 else []
        prior = _tally(old, groups)
        result["previous"] = {
            "version": previous.version,
            "eligible": prior["eligible"],
            "unknown": prior["unknown"],
            "total": prior["total"],
            "budget": previous.budget,
            "delta_eligible": result["eligible"] - prior["eligible"],
            "delta_unknown": result["unknown"] - prior["unknown"],
            "delta_total": result["total"] - prior["total"],
            **_diff(rows, old),
        }
    return result
