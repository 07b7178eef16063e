"""What data a policy lacks for an enterprise (缺什么数据): the one rule for data requests, data
quality, `profile gaps` and the portal's "缺少以下数据".

A condition is unknown when a field it reads is missing; the fields to ask for are the missing
inputs of the unknown conditions, a derived tag (划型, 小型微利 …) asked for through its missing
observed inputs. When every input is present and a condition is still unknown (a division by zero,
a value out of range), all its inputs are listed for a data check.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from mianshen.profiles.derive import INPUTS
from mianshen.rules.ast import Condition, Group, Leaf, Policy, spine
from mianshen.rules.formula import references


def condition_fields(cond: Condition) -> list[str]:
    if isinstance(cond, Leaf):
        return [cond.field]
    if isinstance(cond, Group):
        return [f for c in cond.children for f in condition_fields(c)]
    return ["subject_type"] if cond.id == "subject" else []


def inputs_by_condition(policy: Policy) -> dict[str, list[str]]:
    """Condition id → the profile fields it reads (derived fields expanded to their inputs)."""
    derived = {d.name: references(d.formula) for d in policy.derived.values()}

    def expand(names: list[str]) -> list[str]:
        return [x for n in names for x in (derived.get(n) or [n])]

    out = {c.id: expand(condition_fields(c)) for c in spine(policy.conditions)}
    amount_inputs = [n for t in policy.amount.tiers for n in references(t.formula)]
    amount_inputs += [n for t in policy.amount.tiers if t.when is not None for n in condition_fields(t.when)]
    out["amount"] = expand(amount_inputs)
    return out


def missing_fields(inputs: dict[str, list[str]], unknown_ids: Sequence[str], have: Collection[str]) -> list[str]:
    """The catalogue fields to ask for, given the unknown condition ids and the fields present."""
    names = list(dict.fromkeys(n for cid in unknown_ids for n in inputs.get(cid, [])))
    out: list[str] = []
    for name in names:
        if name in have:
            continue
        sources = [i for i in INPUTS.get(name, ()) if i not in have]
        out.extend(sources or [name])
    return list(dict.fromkeys(out)) or names


def consulted(policy: Policy, columns: Collection[str]) -> list[str]:
    """The profile columns whose presence decides what a pair of this policy lacks."""
    names = {n for ns in inputs_by_condition(policy).values() for n in ns}
    names |= {i for n in names for i in INPUTS.get(n, ())}
    return sorted(names & set(columns))
