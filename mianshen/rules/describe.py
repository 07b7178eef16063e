"""A policy in plain Chinese, without any enterprise: for the policy list, service guide and SMS.

Uses the same requirement sentences as the per-enterprise trace, so the public text and the
explanation an enterprise receives never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mianshen.catalogue import load_catalogue
from mianshen.numbers import money_text
from mianshen.rules.ast import Condition, Group, Implicit, Policy
from mianshen.rules.evaluate import evaluate_condition
from mianshen.rules.formula import formula_text
from mianshen.rules.formulas_eval import FormulaEnv
from mianshen.rules.profile import Profile
from mianshen.rules.render import requirement


def describe_condition(cond: Condition, env: FormulaEnv, depth: int = 0) -> list[str]:
    pad = "  " * depth
    if isinstance(cond, Implicit):
        if cond.id == "in-force":
            return [f"{pad}· 政策有效期：{env.policy.valid_from} 至 {env.policy.valid_to or '长期'}"]
        if cond.id == "subject":
            return [f"{pad}· 适用主体：{'、'.join(env.policy.subjects)}"]
        return [f"{pad}· {cond.label}"]
    if isinstance(cond, Group):
        head = {"all": "同时满足", "any": "满足其一", "not": "不得出现"}[cond.kind]
        lines = [f"{pad}· {cond.label}（{head}）："]
        for child in cond.children:
            lines.extend(describe_condition(child, env, depth + 1))
        return lines
    trace = evaluate_condition(cond, env)  # with no data: gives the bounds resolved on the date
    field = env.field(cond.field)
    need = requirement(field, cond.tests[0].op, trace.bounds)
    basis = f"〔{cond.basis}〕" if cond.basis else ""
    return [f"{pad}· {cond.label}（{field.label}{need}）{basis}"]


def describe_policy(policy: Policy, as_of: dt.date) -> dict[str, Any]:
    env = FormulaEnv(policy, Profile("", {}), as_of, load_catalogue())
    conditions = [line for c in policy.conditions for line in describe_condition(c, env)]
    labels = env.labels()
    amount = ["不涉及资金，只认定资格"] if policy.amount.none else []
    for tier in policy.amount.tiers if not policy.amount.none else ():
        text = formula_text(tier.formula, labels)
        amount.append(
            f"{tier.label or '其他情形'}：{text}" if tier.when is not None or len(policy.amount.tiers) > 1 else text
        )
    if policy.amount.cap is not None:
        amount.append("设有上限")
    return {
        "id": policy.id,
        "title": policy.title,
        "kind": policy.kind,
        "department": policy.department,
        "legal_basis": [b.get("doc", "") + (f"《{b['title']}》" if b.get("title") else "") for b in policy.legal_basis],
        "valid": f"{policy.valid_from} 至 {policy.valid_to or '长期'}",
        "budget": money_text(policy.budget) if policy.budget is not None else None,
        "conditions": conditions,
        "amount_label": policy.amount.label,
        "amount": amount,
        "publicity_days": policy.publicity_days,
        "objection_days": policy.objection_days,
        "guide": {str(k): v for k, v in policy.guide.items()},
    }
