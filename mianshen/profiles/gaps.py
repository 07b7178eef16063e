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
from mianshen.rules.ast import Condition, Group, Leaf, Policy, leaf_fields, spine
from mianshen.rules.formula import formula_name, references
from mianshen.sqlgen.engines import decode


def condition_fields(cond: Condition) -> list[str]:
    if isinstance(cond, Leaf):
        return leaf_fields(cond)  # a comparison with another field lacks either
    if isinstance(cond, Group):
        return [f for c in cond.children for f in condition_fields(c)]
    return ["subject_type"] if cond.id == "subject" else []


def inputs_by_condition(policy: Policy) -> dict[str, list[str]]:
    """Condition id → the profile fields it reads (derived fields expanded to their inputs)."""
    derived = {d.name: references(d.formula) for d in policy.derived.values()}
    params = {formula_name(n) for n in policy.parameters}  # a parameter is never data to ask for

    def expand(names: list[str]) -> list[str]:
        return [x for n in names for x in (derived.get(n) or [n]) if x not in params]

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
    """DuckDB table `needs(uscc, field)` for a population — one row per enterprise and field it
    lacks for some policy — from `results` (the assembler's s_<k>, u_<k> for policies[k], and
    `present`: bit i set when field presence[i] has a value). Returns, per (field, policy id), how
    many enterprises wait (a data department's inbox counts); `table=False`: only those.

    What a pair lacks depends only on its policy, its unknown conditions (the mask) and which fields
    those conditions read are present, so `missing_fields` runs once per distinct combination — a few
    thousand in a province — and the tens of millions of unknown pairs are joins in DuckDB, each
    step materialised (DuckDB aggregates a join's output in one pipeline ten times slower)."""
    bit = {name: i for i, name in enumerate(presence)}
    masks = [sum(1 << bit[f] for f in consulted(p, presence)) for p in policies]
    duck.execute("CREATE OR REPLACE TEMP TABLE needs (uscc VARCHAR, field VARCHAR)")
    if not policies:
        return {}
    unknown = " UNION ALL ".join(
        f"SELECT id, {k} AS k, u_{k} AS mask, present & {m} AS have FROM need_source WHERE s_{k} = 2"
        for k, m in enumerate(masks)
    )
    # A table, read once: each unknown mask is decoded once (match library words, view.py) where
    # every policy's branch below would otherwise decode all of them again.
    picked = ", ".join(f"s_{k}, u_{k}" for k in range(len(policies)))
    duck.execute(f"CREATE OR REPLACE TEMP TABLE need_source AS SELECT id, present, {picked} FROM ({results})")
    duck.execute(f"CREATE OR REPLACE TEMP TABLE unknown_pairs AS {unknown}")
    combos = duck.execute("SELECT k, mask, have, count(*) FROM unknown_pairs GROUP BY ALL").fetchall()
    inputs = [inputs_by_condition(p) for p in policies]
    mapped: list[tuple[int, int, int, int]] = []
    counts: dict[tuple[str, str], int] = {}
    for k, mask, have, n in combos:
        present = {f for f in presence if have >> bit[f] & 1}
        lacking = missing_fields(inputs[k], decode(conditions[k], mask), present)
        mapped.append((k, mask, have, sum(1 << bit[f] for f in lacking if f in bit)))
        for name in lacking:
            key = (name, policies[k].id)
            counts[key] = counts.get(key, 0) + int(n)
    if table:
        # as four lists in one statement: DuckDB runs executemany's rows one statement each (seconds
        # for the thousands of combinations of a province)
        duck.execute(
            "CREATE OR REPLACE TEMP TABLE missing_map AS SELECT unnest(?::INTEGER[]) AS k, "
            "unnest(?::BIGINT[]) AS mask, unnest(?::BIGINT[]) AS have, unnest(?::BIGINT[]) AS fields",
            [list(c) for c in zip(*mapped, strict=True)] if mapped else [[], [], [], []],
        )
        duck.execute(
            "CREATE OR REPLACE TEMP TABLE lacking_pairs AS SELECT u.id, m.fields FROM unknown_pairs AS u "
            "JOIN missing_map AS m USING (k, mask, have)"
        )
        duck.execute(
            "CREATE OR REPLACE TEMP TABLE lacking AS SELECT id, bit_or(fields) AS fields FROM lacking_pairs GROUP BY id"
        )
        names = ", ".join(f"'{n}'" for n in presence)
        duck.execute(
            "INSERT INTO needs SELECT l.id, b.field FROM lacking AS l "
            f"JOIN (SELECT unnest([{names}]) AS field, unnest(range({len(presence)})) AS j) AS b "
            "ON (l.fields >> b.j) & 1 = 1"
        )
        duck.execute("DROP TABLE lacking_pairs")
        duck.execute("DROP TABLE lacking")
    duck.execute("DROP TABLE unknown_pairs")
    return counts
