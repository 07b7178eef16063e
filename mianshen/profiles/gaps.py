"""What data a policy lacks for an enterprise (缺什么数据): the one rule for data requests, data
quality, `profile gaps` and the portal's "缺少以下数据".

A condition is unknown when a field it reads is missing; the fields to ask for are the missing
inputs of the unknown conditions, a derived tag (划型, 小型微利 …) asked for through its missing
observed inputs. When every input is present and a condition is still unknown (a division by zero,
a value out of range), all its inputs are listed for a data check.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from mianshen.profiles.derive import INPUTS
from mianshen.rules.ast import Condition, Group, Leaf, Policy, spine
from mianshen.rules.formula import references
from mianshen.sqlgen.engines import decode


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


def needed(
    duck: Any,
    results: str,
    policies: Sequence[Policy],
    conditions: Sequence[tuple[str, ...]],
    presence: Sequence[str],
    table: bool = True,
) -> dict[tuple[str, str], int]:
    """DuckDB table `needs(uscc, field, waiting)` for a population — one row per enterprise and field
    it lacks, with how many policies wait for it — from `results` (the assembler's s_<k>, u_<k> for
    policies[k], and `present`: bit i set when field presence[i] has a value). Returns, per (field,
    policy id), how many enterprises wait (a data department's inbox counts).

    What a pair lacks depends only on its policy, its unknown conditions (the mask) and which fields
    those conditions read are present, so `missing_fields` runs once per distinct combination — a few
    hundred in a province — and the tens of millions of unknown pairs are joins in DuckDB."""
    bit = {name: i for i, name in enumerate(presence)}
    masks = [sum(1 << bit[f] for f in consulted(p, presence)) for p in policies]
    if not policies:
        duck.execute("CREATE OR REPLACE TEMP TABLE needs (uscc VARCHAR, field VARCHAR, waiting BIGINT)")
        return {}
    duck.execute(f"CREATE OR REPLACE TEMP VIEW need_source AS {results}")
    combos = duck.execute(
        " UNION ALL ".join(
            f"SELECT {k} AS k, u_{k} AS mask, present & {m} AS have, count(*) AS n FROM need_source "
            f"WHERE s_{k} = 2 GROUP BY ALL"
            for k, m in enumerate(masks)
        )
    ).fetchall()
    inputs = [inputs_by_condition(p) for p in policies]
    mapped, counts = [], {}
    for k, mask, have, n in combos:
        present = {f for f in presence if have >> bit[f] & 1}
        for name in missing_fields(inputs[k], decode(conditions[k], mask), present):
            mapped.append((k, mask, have, name))
            key = (name, policies[k].id)
            counts[key] = counts.get(key, 0) + int(n)
    if not table:
        return counts
    duck.execute("CREATE OR REPLACE TEMP TABLE missing_map (k INTEGER, mask BIGINT, have BIGINT, field VARCHAR)")
    if mapped:
        duck.executemany("INSERT INTO missing_map VALUES (?, ?, ?, ?)", mapped)
    parts = " UNION ALL ".join(
        f"SELECT v.id, m.field FROM need_source AS v JOIN missing_map AS m ON m.k = {k} AND m.mask = v.u_{k} "
        f"AND m.have = (v.present & {mask}) WHERE v.s_{k} = 2"
        for k, mask in enumerate(masks)
    )
    duck.execute(
        f"CREATE OR REPLACE TEMP TABLE needs AS SELECT id AS uscc, field, count(*) AS waiting FROM ({parts}) GROUP BY ALL"
    )
    return counts
