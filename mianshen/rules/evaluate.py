"""The Python backend: evaluate one policy for one enterprise, with a full trace.

Three-valued (Kleene) logic: True, False, or None for unknown — the same as SQL NULL semantics,
which the differential tests hold the SQL backend to. The work that does not depend on the
enterprise is done once per policy and date (`plan.plan_for`); sentences are rendered when read.
"""

from __future__ import annotations

import datetime as dt

from mianshen.catalogue import Catalogue, load_catalogue
from mianshen.rules.ast import Condition, Policy
from mianshen.rules.compiled import resolve_date
from mianshen.rules.formulas_eval import FormulaEnv
from mianshen.rules.plan import State, plan_for
from mianshen.rules.profile import Profile
from mianshen.rules.trace import Result, Trace
from mianshen.rules.values import show


def kleene_all(results: list[bool | None]) -> bool | None:
    if any(r is False for r in results):
        return False
    return None if any(r is None for r in results) else True


def kleene_any(results: list[bool | None]) -> bool | None:
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def evaluate(policy: Policy, profile: Profile, as_of: dt.date, catalogue: Catalogue | None = None) -> Result:
    plan = plan_for(policy, as_of, catalogue or load_catalogue())
    state = State(profile, as_of, plan.formulas)
    traces = [node.run(state) for node in plan.conditions]
    results = [t.result for t in traces]  # only True, False and None: `in` is kleene_all here
    root = False if False in results else None if None in results else True
    amount_trace = plan.amount.run(state) if root is True else None
    amount = amount_trace.value if amount_trace else None
    if plan.flat:  # the top-level traces are the spine, in order
        failed = [t.id for t in traces if t.result is False]
        unknown = [t.id for t in traces if t.result is None]
    else:
        by_id = {t.id: t for t in _flatten_spine(traces)}
        failed = [i for i in plan.spine_ids if by_id[i].result is False]
        unknown = [i for i in plan.spine_ids if by_id[i].result is None]
    if root is True and amount is None:
        unknown.append("amount")
    status = "eligible" if root is True and amount is not None else "ineligible" if root is False else "unknown"
    return Result(policy.id, policy.version, policy.title, as_of, status, amount, failed, unknown, traces, amount_trace)


def _flatten_spine(traces: list[Trace]) -> list[Trace]:
    out = []
    for t in traces:
        out.extend(_flatten_spine(t.children) if t.kind == "all" else [t])
    return out


def evaluate_condition(cond: Condition, env: FormulaEnv) -> Trace:
    """One condition of `env.policy` for `env.profile` on `env.as_of`, with its trace."""
    plan = plan_for(env.policy, env.as_of, env.catalogue)
    return plan.node(cond).run(plan.state(env.profile))


__all__ = ["evaluate", "evaluate_condition", "kleene_all", "kleene_any", "resolve_date", "show"]
