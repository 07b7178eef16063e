"""Check, test and simulate a policy file before publishing it (政策发布前的模拟测算).

The file is checked by the same loader as `mianshen policy check` (errors keep their line and
column), its embedded tests run with `run_tests`, and the simulation screens the current profile
population on an in-memory DuckDB the way a match run does — the profile snapshot pivoted from
the observation mirror, the one assembler's statement — so the numbers shown are those a match run
would produce on the same date. Nothing is written.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from mianshen.matching.publish import parse_version
from mianshen.profiles.snapshot import build
from mianshen.reference.industries import find_industry
from mianshen.reference.regions import find_region
from mianshen.rules.ast import Policy
from mianshen.rules.loader import read_policy
from mianshen.rules.testing import run_tests
from mianshen.sqlgen.assemble import assemble
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.duck import duckdb_connect
from mianshen.sqlgen.engines import results_table
from mianshen.web.console.scope import policy_row
from mianshen.web.uploads import file_name

STATUS_LABELS = {"eligible": "符合", "unknown": "缺数据待定", "ineligible": "不符合"}
GROUP_FIELDS = {"region": "region_code", "industry": "industry_code", "size": "size_class"}


def check_text(text: str, filename: str = "policy.yaml") -> dict[str, Any]:
    """Diagnostics (line, column, message, hint) and test outcomes of a policy file's text."""
    name = file_name(filename or "policy.yaml")
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


def _tally(duck: Any, k: int, labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Counts and the exact total of policy column k of `sim`, overall and by region, industry and size."""
    evaluated, eligible, unknown, ineligible, total = duck.execute(
        f"SELECT count(*), count(*) FILTER (WHERE s_{k} = 1), count(*) FILTER (WHERE s_{k} = 2), "
        f"count(*) FILTER (WHERE s_{k} = 0), CAST(sum(a_{k}) FILTER (WHERE s_{k} = 1) AS VARCHAR) FROM sim"
    ).fetchone()
    by: dict[str, list[dict[str, Any]]] = {}
    for key, field in GROUP_FIELDS.items():
        counts: dict[str, Counter[str]] = {}
        for value, e, u, i in duck.execute(
            f"SELECT {field}, count(*) FILTER (WHERE s_{k} = 1), count(*) FILTER (WHERE s_{k} = 2), "
            f"count(*) FILTER (WHERE s_{k} = 0) FROM sim GROUP BY ALL"
        ).fetchall():
            group = labels[field].get(value, "（缺数据）") if value is not None else "（缺数据）"
            counts.setdefault(group, Counter()).update({"eligible": e, "unknown": u, "ineligible": i})
        by[key] = [
            {"group": g, "eligible": c["eligible"], "unknown": c["unknown"], "ineligible": c["ineligible"]}
            for g, c in sorted(counts.items(), key=lambda kv: (-kv[1]["eligible"], kv[0]))
        ]
    return {
        "evaluated": int(evaluated),
        "eligible": int(eligible),
        "unknown": int(unknown),
        "ineligible": int(ineligible),
        "total": Decimal(total or "0"),
        "by": by,
    }


def _diff(duck: Any) -> dict[str, Any]:
    """How enterprises move from the published version (column 1) to the draft (column 0)."""
    moves: Counter[str] = Counter()
    codes = ("ineligible", "eligible", "unknown")
    for was, now, n in duck.execute("SELECT s_1, s_0, count(*) FROM sim WHERE s_1 <> s_0 GROUP BY ALL").fetchall():
        moves[f"{STATUS_LABELS[codes[was]]} → {STATUS_LABELS[codes[now]]}"] += int(n)
    amount_changed = duck.execute(
        "SELECT count(*) FROM sim WHERE s_0 = 1 AND s_1 = 1 AND a_0 IS DISTINCT FROM a_1"
    ).fetchone()[0]
    return {
        "moves": [{"change": k, "count": v} for k, v in sorted(moves.items(), key=lambda kv: -kv[1])],
        "amount_changed": int(amount_changed),
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
    duck = duckdb_connect()
    try:
        build(conn, duck, as_of, fields)
        assembly = assemble(chosen, as_of, "duckdb", "profiles", carry=tuple(GROUP_FIELDS.values()))
        results_table(duck, assembly, "sim", carry=tuple(GROUP_FIELDS.values()))
        labels = {
            f: {
                v: _group(f, v)
                for (v,) in duck.execute(f"SELECT DISTINCT {f} FROM sim WHERE {f} IS NOT NULL").fetchall()
            }
            for f in GROUP_FIELDS.values()
        }
        result = _tally(duck, 0, labels)
        prior = _tally(duck, 1, labels) if previous is not None else None
        moved = _diff(duck) if previous is not None else None
    finally:
        duck.close()
    budget = policy.budget
    result.update(
        as_of=as_of.isoformat(),
        budget=budget,
        budget_share=None if not budget else float(result["total"] / budget),
        over_budget=budget is not None and result["total"] > budget,
        previous=None,
    )
    if previous is not None and prior is not None and moved is not None:
        result["previous"] = {
            "version": previous.version,
            "eligible": prior["eligible"],
            "unknown": prior["unknown"],
            "total": prior["total"],
            "budget": previous.budget,
            "delta_eligible": result["eligible"] - prior["eligible"],
            "delta_unknown": result["unknown"] - prior["unknown"],
            "delta_total": result["total"] - prior["total"],
            **moved,
        }
    return result
