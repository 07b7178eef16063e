"""政策计算器: anyone, without signing in, answers the few questions a policy asks and gets the same
condition-by-condition explanation an enterprise sees on its portal. Nothing is stored or audited:
the answers live in the page's address only. A question left blank is "unknown" (the explanation
says what is missing), never "no"; an answer that is not a valid value is shown next to its field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mianshen.catalogue import load_catalogue
from mianshen.errors import InputError
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import profile_from_mapping
from mianshen.sqlgen.compile import needed_fields
from mianshen.web.catalog import Listed
from mianshen.web.portal import trace_rows

PREFIX = "f_"  # query keys of the answers (f_employees=12)


def questions(item: Listed, answers: dict[str, str]) -> list[dict[str, Any]]:
    """The policy's inputs as form questions (catalogue fields it reads, derived ones excluded)."""
    catalogue = load_catalogue()
    out = []
    for name in sorted(needed_fields(item.policy)):
        spec = catalogue.get(name)
        if spec is None or spec.source.startswith("派生") or name == "on_list":
            continue
        hint = {"region": "行政区划代码，如 410100", "industry": "国民经济行业代码，如 C3011"}.get(
            spec.hierarchy or "", ""
        )
        out.append(
            {
                "field": name,
                "label": spec.label,
                "type": spec.type.value,
                "unit": spec.unit,
                "choices": list(spec.values),
                "hint": hint,
                "answer": answers.get(name, ""),
                "error": "",
            }
        )
    return out


def answers_of(params: Any) -> dict[str, str]:
    return {k[len(PREFIX) :]: str(v).strip() for k, v in params.items() if k.startswith(PREFIX) and str(v).strip()}


def calculate(item: Listed, answers: dict[str, str], today: dt.date) -> dict[str, Any]:
    """The questions (with an error beside each answer that is not a valid value) and, when every
    given answer is valid, the result with its explanation."""
    asked = questions(item, answers)
    catalogue = load_catalogue()
    values: dict[str, Any] = {}
    for q in asked:
        raw = answers.get(q["field"])
        if raw is None:
            continue
        try:
            profile_from_mapping({q["field"]: _typed(q["type"], raw)}, catalogue, "计算器")
            values[q["field"]] = _typed(q["type"], raw)
        except InputError as exc:
            q["error"] = str(exc).split("：", 1)[-1]
    if any(q["error"] for q in asked) or not answers:
        return {"questions": asked, "result": None}
    result = evaluate(item.policy, profile_from_mapping(values, catalogue, "计算器"), today)
    return {
        "questions": asked,
        "result": {
            "status": result.status,
            "amount": result.amount,
            "conditions": trace_rows(result.conditions),
            "amount_steps": result.amount_trace.steps if result.amount_trace else [],
        },
    }


def _typed(kind: str, raw: str) -> Any:
    if kind == "boolean":
        return {"是": True, "否": False}.get(raw, raw)
    if kind == "tags":
        return [t.strip() for t in raw.replace("，", ",").replace("、", ",").split(",") if t.strip()]
    return raw
